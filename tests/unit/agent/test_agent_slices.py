"""build_slices: pure ResourceSlice construction (split, limits, attribute forms, owner)."""

from __future__ import annotations

import copy

import pytest

from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.slices import build_slices, device_entry, same_content

NODE, UID = "node-a", "0b5d7a6e-0000-4000-8000-000000000001"


def host(i: int) -> InventoryDevice:
    return InventoryDevice(
        name=f"host-eth{i:03d}",
        kind=DeviceKind.HOST_DEVICE,
        attributes={"kind": "host-device", "mtu": 1500, "virtual": False, "ifName": f"eth{i}"},
        ifname=f"eth{i}",
    )


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, [0]), (1, [1]), (128, [128]), (129, [128, 1]), (300, [128, 128, 44])],
)
def test_split_at_128(count: int, sizes: list[int]) -> None:
    slices = build_slices(NODE, UID, [host(i) for i in range(count)], 7)
    assert [len(s["spec"]["devices"]) for s in slices] == sizes
    for s in slices:
        assert s["spec"]["pool"] == {
            "name": NODE,
            "generation": 7,
            "resourceSliceCount": len(sizes),
        }
        assert s["spec"]["driver"] == "netclaim.io"
        assert s["spec"]["nodeName"] == NODE
        assert s["metadata"]["generateName"] == f"{NODE}-netclaim.io-"
        assert s["metadata"]["ownerReferences"] == [
            {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": UID, "controller": True}
        ]


def test_devices_sorted_and_stable() -> None:
    devices = [host(i) for i in range(200)]
    forward = build_slices(NODE, UID, devices, 1)
    backward = build_slices(NODE, UID, list(reversed(devices)), 1)
    assert forward == backward
    names = [d["name"] for s in forward for d in s["spec"]["devices"]]
    assert names == sorted(names)


def test_attribute_forms_and_capacity() -> None:
    macvlan = InventoryDevice(
        name="macvlan-eth1",
        kind=DeviceKind.MACVLAN,
        attributes={
            "kind": "macvlan",
            "virtual": True,
            "mtu": 9000,
            "ifName": "eth1",
            "resource.kubernetes.io/pcieRoot": "pci0000:00",
        },
        ifname="eth1",
        slots=32,
    )
    assert device_entry(macvlan) == {
        "name": "macvlan-eth1",
        "attributes": {
            "ifName": {"string": "eth1"},
            "kind": {"string": "macvlan"},
            "mtu": {"int": 9000},
            "resource.kubernetes.io/pcieRoot": {"string": "pci0000:00"},
            "virtual": {"bool": True},
        },
        "allowMultipleAllocations": True,
        "capacity": {
            "netclaim.io/slots": {
                "value": "32",
                "requestPolicy": {"default": "1", "validRange": {"min": "1", "step": "1"}},
            }
        },
    }
    entry = device_entry(host(1))
    assert "capacity" not in entry
    assert "allowMultipleAllocations" not in entry


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("Host-Eth0", {}),
        ("host-eth0-", {}),
        ("h" * 64, {}),
        ("host-eth0", {"mac": "x" * 65}),
        ("host-eth0", {"bad-key": "x"}),
        ("host-eth0", {"Bad_Domain/key": "x"}),
        ("host-eth0", {f"a{i}": i for i in range(33)}),
    ],
)
def test_limits_rejected(name: str, attributes: dict[str, str | int]) -> None:
    device = InventoryDevice(name=name, kind=DeviceKind.HOST_DEVICE, attributes=attributes)
    with pytest.raises(ValueError, match=r"DNS label|64 characters|qualified name|32 attributes"):
        build_slices(NODE, UID, [device], 1)


def test_duplicate_names_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        build_slices(NODE, UID, [host(1), host(1)], 1)


def test_same_content_ignores_generation_and_server_fields() -> None:
    (wanted,) = build_slices(NODE, UID, [host(1)], 2)
    (older,) = build_slices(NODE, UID, [host(1)], 1)
    stored = {**older, "metadata": {**older["metadata"], "name": "x", "resourceVersion": "9"}}
    assert same_content(stored, wanted)
    (changed,) = build_slices(NODE, UID, [host(2)], 2)
    assert not same_content(stored, changed)


def test_same_content_compares_quantities_by_value() -> None:
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=1000)
    (wanted,) = build_slices(NODE, UID, [veth], 1)
    stored = copy.deepcopy(wanted)
    stored["spec"]["devices"][0]["capacity"]["netclaim.io/slots"]["value"] = "1k"
    assert same_content(stored, wanted)
    stored["spec"]["devices"][0]["capacity"]["netclaim.io/slots"]["value"] = "999"
    assert not same_content(stored, wanted)
