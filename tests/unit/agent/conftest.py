"""Fixtures for the agent's unit tests: a Driver on temp dirs and a fake sysfs tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from agent_testdata import build_fake_sysfs

from netclaim_agent.driver import Driver
from netclaim_agent.model import ClaimRef, DeviceKind, Injection, InventoryDevice

PROTECTED = frozenset({"eth0"})

INVENTORY = {
    "veth": InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=16),
    "dummy": InventoryDevice(name="dummy", kind=DeviceKind.DUMMY, slots=16),
    "macvlan-uplink": InventoryDevice(
        name="macvlan-uplink", kind=DeviceKind.MACVLAN, ifname="eth0", slots=16
    ),
    "macvlan-eth1": InventoryDevice(
        name="macvlan-eth1", kind=DeviceKind.MACVLAN, ifname="eth1", slots=16
    ),
    "macvlan-orphan": InventoryDevice(name="macvlan-orphan", kind=DeviceKind.MACVLAN, slots=16),
    "ipvlan-eth1": InventoryDevice(
        name="ipvlan-eth1", kind=DeviceKind.IPVLAN, ifname="eth1", slots=16
    ),
    "uplink": InventoryDevice(name="uplink", kind=DeviceKind.HOST_DEVICE, ifname="eth0"),
    "mlx5-0": InventoryDevice(name="mlx5-0", kind=DeviceKind.RDMA, rdma_device="mlx5_0"),
}


@pytest.fixture
def fake_sysfs(tmp_path: Path) -> Path:
    return build_fake_sysfs(tmp_path / "sys")


DriverFactory = Callable[..., tuple[Driver, dict[str, Mapping[str, Any]]]]


@pytest.fixture
def make_driver(tmp_path: Path, fake_sysfs: Path) -> Iterator[DriverFactory]:
    """Build a Driver whose API server is a dict of claims by UID (missing UID = API error).

    Prepare of a virtual kind creates its links (as root; elsewhere it fails with EPERM), so
    whatever a test left prepared is unprepared afterwards."""
    made: list[Driver] = []

    def factory(
        injection: Injection = Injection.NRI,
        inventory: Mapping[str, InventoryDevice] = INVENTORY,
        protected: Sequence[str] = tuple(PROTECTED),
        pod_nodes: Mapping[str, str] | None = None,
    ) -> tuple[Driver, dict[str, Mapping[str, Any]]]:
        api: dict[str, Mapping[str, Any]] = {}

        def fetch(ref: ClaimRef) -> Mapping[str, Any]:
            if ref.uid not in api:
                raise LookupError(f"resourceclaims {ref.name!r} not found")
            return api[ref.uid]

        driver = Driver(
            node_name="node-a",
            fetch_claim=fetch,
            inventory=inventory.get,
            state_dir=tmp_path / "state",
            cdi_dir=tmp_path / "cdi",
            injection=injection,
            netns_dir=tmp_path / "netns",
            sysfs_root=fake_sysfs,
            is_protected=lambda name: name in protected,
            pod_node=lambda _namespace, name: (pod_nodes or {}).get(name),
        )
        made.append(driver)
        return driver, api

    yield factory
    for driver in made:
        driver.unprepare(driver.prepared_claims())
