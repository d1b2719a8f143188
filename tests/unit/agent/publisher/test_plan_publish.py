"""plan_publish: the generation rules of dra-contract §5.2 as a pure function over stored slices."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.publisher import plan_publish
from netclaim_agent.slices import build_slices

NODE, UID = "node-a", "0b5d7a6e-0000-4000-8000-000000000001"
_uids = itertools.count(1)


def host(i: int) -> InventoryDevice:
    return InventoryDevice(
        name=f"host-eth{i:03d}",
        kind=DeviceKind.HOST_DEVICE,
        attributes={"kind": "host-device", "ifName": f"eth{i}"},
        ifname=f"eth{i}",
    )


def stored(devices: Sequence[InventoryDevice], generation: int) -> list[dict[str, Any]]:
    """Slices as the API server would return them after a create."""
    result = []
    for built in build_slices(NODE, UID, devices, generation):
        n = next(_uids)
        meta = {k: v for k, v in built["metadata"].items() if k != "generateName"}
        meta |= {"name": f"{NODE}-netclaim.io-{n}", "uid": f"uid-{n}", "resourceVersion": str(n)}
        result.append({**built, "metadata": meta})
    return result


def names(slices: Sequence[Any]) -> list[str]:
    return [s["metadata"]["name"] for s in slices]


def test_nothing_stored_creates_one_empty_slice_at_generation_1() -> None:
    plan = plan_publish(NODE, UID, [], [])
    assert plan is not None
    assert (plan.generation, plan.delete, plan.replace) == (1, (), ())
    (created,) = plan.create
    assert created["spec"]["devices"] == []
    assert created["spec"]["pool"] == {"name": NODE, "generation": 1, "resourceSliceCount": 1}


def test_unchanged_content_writes_nothing() -> None:
    devices = [host(i) for i in range(130)]
    assert plan_publish(NODE, UID, devices, stored(devices, 4)) is None


def test_change_bumps_generation_in_every_slice_and_reuses_names() -> None:
    old = stored([host(i) for i in range(130)], 4)
    plan = plan_publish(NODE, UID, [host(i) for i in range(131)], old)
    assert plan is not None
    assert plan.generation == 5
    assert plan.delete == () and plan.create == ()
    assert sorted(names(old for old, _ in plan.replace)) == sorted(names(old))
    for _, new in plan.replace:
        assert new["spec"]["pool"]["generation"] == 5
        assert new["spec"]["pool"]["resourceSliceCount"] == 2


def test_shrinking_deletes_obsolete_slices() -> None:
    old = stored([host(i) for i in range(300)], 2)
    plan = plan_publish(NODE, UID, [host(1)], old)
    assert plan is not None
    assert (len(plan.delete), len(plan.replace), len(plan.create)) == (2, 1, 0)


def test_leftover_older_generation_is_deleted_even_if_current_matches() -> None:
    devices = [host(1)]
    leftover = stored([host(9)], 1)
    current = stored(devices, 2)
    plan = plan_publish(NODE, UID, devices, leftover + current)
    assert plan is not None
    assert plan.generation == 3
    assert names(plan.delete) == names(leftover)
    assert names(old for old, _ in plan.replace) == names(current)
