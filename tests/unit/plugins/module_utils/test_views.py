"""Read-side views: readiness, allocated devices, flattened ResourceSlices."""

from __future__ import annotations

import pytest
from ansible_collections.netclaim.dra.plugins.module_utils import _views as views


def obj(generation=1, conditions=None):
    return {
        "metadata": {"name": "x", "generation": generation},
        "status": {"conditions": conditions or []},
    }


@pytest.mark.parametrize(
    ("item", "ready"),
    [
        (None, False),
        (obj(), False),
        (obj(conditions=[{"type": "Ready", "status": "False"}]), False),
        (obj(conditions=[{"type": "Ready", "status": "True"}]), True),
        (obj(2, [{"type": "Ready", "status": "True", "observedGeneration": 1}]), False),
        (obj(2, [{"type": "Ready", "status": "True", "observedGeneration": 2}]), True),
    ],
)
def test_is_ready(item, ready):
    assert views.is_ready(item) is ready


def test_allocated_devices_merges_driver_reports():
    claim = {
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {
                            "request": "net",
                            "driver": "netclaim.io",
                            "pool": "n1",
                            "device": "veth-0",
                        },
                        {
                            "request": "net",
                            "driver": "netclaim.io",
                            "pool": "n1",
                            "device": "veth-1",
                        },
                    ]
                }
            },
            "devices": [
                {
                    "driver": "netclaim.io",
                    "pool": "n1",
                    "device": "veth-1",
                    "networkData": {"interfaceName": "net1", "ips": ["192.0.2.5/24"]},
                }
            ],
        }
    }
    assert views.is_allocated(claim)
    assert views.allocated_devices(claim) == [
        {"request": "net", "driver": "netclaim.io", "pool": "n1", "device": "veth-0"},
        {
            "request": "net",
            "driver": "netclaim.io",
            "pool": "n1",
            "device": "veth-1",
            "networkData": {"interfaceName": "net1", "ips": ["192.0.2.5/24"]},
        },
    ]
    assert views.allocated_devices({"metadata": {}}) == []
    assert not views.is_allocated({"status": {}})


def resource_slice(name, pool, devices, driver="netclaim.io", node="n1"):
    return {
        "metadata": {"name": name},
        "spec": {"driver": driver, "pool": {"name": pool}, "nodeName": node, "devices": devices},
    }


VETH = {
    "name": "veth-0",
    "attributes": {"kind": {"string": "veth"}, "resource.kubernetes.io/numaNode": {"int": 0}},
    "capacity": {"slots": {"value": "16"}},
    "allowMultipleAllocations": True,
}
VF = {"name": "vf-0", "attributes": {"kind": {"string": "sriov-vf"}}}


def test_slice_devices_flattens_and_qualifies():
    (device,) = views.slice_devices(resource_slice("s1", "n1", [VETH]))
    assert device == {
        "name": "veth-0",
        "driver": "netclaim.io",
        "pool": "n1",
        "node": "n1",
        "slice": "s1",
        "attributes": {"netclaim.io/kind": "veth", "resource.kubernetes.io/numaNode": 0},
        "capacity": {"netclaim.io/slots": "16"},
        "allow_multiple_allocations": True,
    }


def test_select_slices_filters_pool_and_kind():
    slices = [resource_slice("s1", "n1", [VETH, VF]), resource_slice("s2", "n2", [VETH], node="n2")]
    kept, devices = views.select_slices(slices, kind="sriov-vf")
    assert [s["metadata"]["name"] for s in kept] == ["s1"]
    assert [d["name"] for d in devices] == ["vf-0"]
    kept, devices = views.select_slices(slices, pool="n2")
    assert [s["metadata"]["name"] for s in kept] == ["s2"]
    assert [d["name"] for d in devices] == ["veth-0"]
    kept, devices = views.select_slices(slices)
    assert len(kept) == 2
    assert len(devices) == 3
