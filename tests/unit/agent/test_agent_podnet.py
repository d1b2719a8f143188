"""PodNetworks, pure parts: membership, checks, addresses, the controller's verdict, and how a
network's address configures a claim's interface."""

from __future__ import annotations

from typing import Any

import pytest
from agent_testdata import claim, network_config, opaque

from netclaim_agent import DRIVER_NAME
from netclaim_agent.claims import read_claim
from netclaim_agent.devices import HostProbe
from netclaim_agent.errors import ConfigError
from netclaim_agent.fip.pools import addresses
from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.planning import resolve
from netclaim_agent.podnet.networks import (
    UPLINKS_ANNOTATION,
    NetworkSpec,
    membership,
    node_tags,
    validate,
)
from netclaim_agent.podnet.report import judge
from netclaim_agent.publishing import tagged

MACVLAN_A = {"kind": "macvlan", "ifName": "nca", "mtu": 1500, "virtual": True}
MACVLAN_B = {"kind": "macvlan", "ifName": "ncb", "mtu": 9000, "virtual": True}
HOST_A = {"kind": "host-device", "ifName": "nca", "mtu": 1500, "virtual": False}


def network(
    name: str = "storage",
    *,
    selector: dict[str, Any] | None = None,
    ipam: dict[str, Any] | None = None,
    ready: bool = True,
    created: str = "2026-01-01T00:00:00Z",
    deleting: bool = False,
    **spec: Any,
) -> NetworkSpec:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": 1}
    meta["creationTimestamp"] = created
    if deleting:
        meta["deletionTimestamp"] = "2026-01-02T00:00:00Z"
    conditions = [
        {"type": "Ready", "status": "True" if ready else "False", "observedGeneration": 1}
    ]
    return NetworkSpec.from_object(
        {
            "metadata": meta,
            "spec": {
                "deviceSelector": {"kinds": ["macvlan"], "interfaceNames": ["nca", "ncb"]}
                if selector is None
                else selector,
                "ipam": {"ranges": [{"cidr": "10.77.0.0/24"}], "gateway": "10.77.0.1"}
                if ipam is None
                else ipam,
                **spec,
            },
            "status": {"conditions": conditions},
        }
    )


def test_selector_needs_every_criterion() -> None:
    net = network(selector={"kinds": ["macvlan"], "interfaceNames": ["nca"]})
    assert net.selects(MACVLAN_A)
    assert not net.selects(MACVLAN_B)
    assert not net.selects(HOST_A)
    by_attr = network(selector={"attributes": {"netclaim.io/mtu": "9000", "virtual": "true"}})
    assert by_attr.selects(MACVLAN_B) and not by_attr.selects(MACVLAN_A)
    vf = {"kind": "sriov-vf", "ifName": "enp1s0v3", "pfName": "enp1s0"}
    assert network(selector={"interfaceNames": ["enp1s0"]}).selects(vf)
    assert not network(selector={}).selects(MACVLAN_A)


def test_address_pool_honours_start_end_exclude_and_skips_the_gateway() -> None:
    net = network(
        ipam={
            "ranges": [
                {
                    "cidr": "10.77.0.0/24",
                    "start": "10.77.0.1",
                    "end": "10.77.0.6",
                    "exclude": ["10.77.0.4/31"],
                }
            ],
            "gateway": "10.77.0.1",
        }
    )
    assert [str(a) for a in addresses(net.address_pool())] == [
        "10.77.0.2",
        "10.77.0.3",
        "10.77.0.6",
    ]
    assert net.prefix_length(addresses(net.address_pool())[0]) == 24


@pytest.mark.parametrize(
    ("ipam", "selector", "reason", "words"),
    [
        (
            {"ranges": [{"cidr": "10.77.0.0/24"}], "gateway": "10.78.0.1"},
            None,
            "InvalidIPAM",
            "gateway",
        ),
        (
            {"ranges": [{"cidr": "10.77.0.0/24", "start": "10.77.0.9", "end": "10.77.0.2"}]},
            None,
            "InvalidIPAM",
            "after end",
        ),
        ({"ranges": [{"cidr": "10.0.0.0/16"}]}, None, "InvalidIPAM", "at most 4096"),
        ({"ranges": []}, None, "InvalidIPAM", "empty"),
        (
            {"ranges": [{"cidr": "10.77.0.0/24"}], "routes": [{"to": "10.9.0.0/16"}]},
            None,
            "InvalidIPAM",
            "no via",
        ),
        (None, {}, "InvalidSelector", "deviceSelector"),
    ],
)
def test_invalid_networks_say_what_to_fix(
    ipam: dict[str, Any] | None, selector: dict[str, Any] | None, reason: str, words: str
) -> None:
    problem = validate(network(ipam=ipam, selector=selector), [])
    assert problem is not None and problem.reason == reason and words in str(problem)


def test_overlapping_ranges_are_charged_to_the_younger_network() -> None:
    old = network("old", created="2026-01-01T00:00:00Z")
    new = network(
        "new", created="2026-02-01T00:00:00Z", ipam={"ranges": [{"cidr": "10.77.0.128/25"}]}
    )
    assert validate(old, [old, new]) is None
    problem = validate(new, [old, new])
    assert problem is not None and problem.reason == "OverlapsNetwork" and "old" in str(problem)


def b_ipam() -> dict[str, Any]:
    return {"ranges": [{"cidr": "10.88.0.0/24"}]}


def test_a_device_two_networks_select_is_tagged_with_neither() -> None:
    a = network("a", selector={"interfaceNames": ["nca"]})
    b = network("b", selector={"kinds": ["macvlan"]}, ipam={"ranges": [{"cidr": "10.88.0.0/24"}]})
    devices = [("macvlan-nca", MACVLAN_A), ("macvlan-ncb", MACVLAN_B), ("host-nca", HOST_A)]
    found = membership(devices, [a, b])
    assert found.tags == {"macvlan-ncb": "b", "host-nca": "a"}
    assert found.contested == {"macvlan-nca": ("a", "b")}
    # Even before the controller marks `b` not Ready, the contested device stays untagged.
    not_ready = network("b", selector={"kinds": ["macvlan"]}, ipam=b_ipam(), ready=False)
    assert node_tags(devices, [a, not_ready]) == {"host-nca": "a"}


def test_only_enabled_ready_networks_tag_and_disabled_ones_contest_nothing() -> None:
    devices = [("macvlan-nca", MACVLAN_A)]
    assert node_tags(devices, [network(ready=False)]) == {}
    assert node_tags(devices, [network(enabled=False)]) == {}
    assert node_tags(devices, [network(), network("other", enabled=False, ipam=b_ipam())]) == {
        "macvlan-nca": "storage"
    }
    inventory = [InventoryDevice("macvlan-nca", DeviceKind.MACVLAN, MACVLAN_A, ifname="nca")]
    [device] = tagged(inventory, [network()])
    assert device.attributes["podNetwork"] == "storage"


def node_slice(
    node: str, devices: dict[str, dict[str, Any]], uplinks: str = "eth0"
) -> dict[str, Any]:
    return {
        "metadata": {"annotations": {UPLINKS_ANNOTATION: uplinks}},
        "spec": {
            "driver": DRIVER_NAME,
            "nodeName": node,
            "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
            "devices": [
                {
                    "name": name,
                    "attributes": {
                        k: {"string" if isinstance(v, str) else "int": v} for k, v in attrs.items()
                    },
                    "capacity": {f"{DRIVER_NAME}/slots": {"value": "2"}},
                }
                for name, attrs in devices.items()
            ],
        },
    }


def allocated(name: str, *results: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {"request": "r", "driver": DRIVER_NAME, "pool": pool, "device": device}
                        for pool, device in results
                    ]
                }
            }
        },
    }


def test_verdict_counts_nodes_devices_free_slots_and_addresses() -> None:
    slices = [
        node_slice("node1", {"macvlan-nca": {"kind": "macvlan", "ifName": "nca"}}),
        node_slice(
            "node2", {"macvlan-ncb": {"kind": "macvlan", "ifName": "ncb"}, "veth": {"kind": "veth"}}
        ),
    ]
    claims = [
        allocated("c1", ("node1", "macvlan-nca"), ("pod-network/storage", "ip-10-77-0-2")),
        allocated("c2", ("node1", "macvlan-nca"), ("pod-network/storage", "ip-10-77-0-3")),
    ]
    [verdict] = judge([network()], slices, claims)
    assert verdict.ready and verdict.reason == "Ready"
    assert [(n.name, n.devices, n.available) for n in verdict.nodes] == [
        ("node1", 1, 0),
        ("node2", 1, 1),
    ]
    assert (verdict.size, verdict.allocated, verdict.free) == (253, 2, 251)
    assert verdict.holders == ("default/c1", "default/c2")


def test_verdict_reasons() -> None:
    slices = [node_slice("node1", {"macvlan-nca": {"kind": "macvlan", "ifName": "nca"}})]
    [disabled] = judge([network(enabled=False)], slices, [])
    assert (disabled.ready, disabled.reason, disabled.publish_addresses) == (
        False,
        "Disabled",
        False,
    )
    [uplink] = judge([network(selector={"interfaceNames": ["eth0", "nca"]})], slices, [])
    assert uplink.reason == "SelectsDefaultRouteInterface" and "node1/eth0" in uplink.message
    [nothing] = judge([network(selector={"interfaceNames": ["ncz"]})], slices, [])
    assert nothing.reason == "NoMatchingDevices"
    both = judge(
        [network("a"), network("b", ipam={"ranges": [{"cidr": "10.88.0.0/24"}]})], slices, []
    )
    assert [v.reason for v in both] == ["DeviceSelectedTwice", "DeviceSelectedTwice"]
    assert "node1/macvlan-nca (also b)" in both[0].message
    held = [allocated("c1", ("pod-network/storage", "ip-10-77-0-2"))]
    [going] = judge([network(deleting=True)], slices, held)
    assert going.reason == "Deleting" and "1 claims" in going.message


def test_network_address_configures_the_claim_interface() -> None:
    net = network(
        mtu=9000,
        ipam={
            "ranges": [{"cidr": "10.77.0.0/24"}],
            "gateway": "10.77.0.1",
            "routes": [{"to": "10.78.0.0/16"}],
        },
    )
    nic = InventoryDevice("macvlan-nca", DeviceKind.MACVLAN, MACVLAN_A, ifname="nca")
    ref, body = claim(
        [("storage", nic.name)],
        extra_results=[
            {
                "request": "storage-address",
                "driver": DRIVER_NAME,
                "pool": "pod-network/storage",
                "device": "ip-10-77-0-7",
            }
        ],
    )
    [item] = resolve(read_claim(body, ref), {nic.name: nic}.get, HostProbe(), {"storage": net}.get)
    assert item.config.addresses == ("10.77.0.7/24",)
    assert [(r.to, r.via) for r in item.config.routes] == [("10.78.0.0/16", "10.77.0.1")]
    assert item.config.mtu == 9000


def test_network_address_problems_name_the_request() -> None:
    nic = InventoryDevice("macvlan-nca", DeviceKind.MACVLAN, MACVLAN_A, ifname="nca")
    address = {
        "request": "ip",
        "driver": DRIVER_NAME,
        "pool": "pod-network/storage",
        "device": "ip-10-77-0-7",
    }
    ref, body = claim([("storage", nic.name)], extra_results=[address])
    with pytest.raises(ConfigError, match="PodNetwork 'storage' does not exist"):
        resolve(read_claim(body, ref), {nic.name: nic}.get, HostProbe())
    configured = opaque(network_config(addresses=["10.9.9.9/24"]))
    ref, body = claim([("storage", nic.name)], [configured], extra_results=[address])
    with pytest.raises(ConfigError, match="address comes from PodNetwork"):
        resolve(read_claim(body, ref), {nic.name: nic}.get, HostProbe(), {"storage": network()}.get)
    other = network(selector={"interfaceNames": ["ncz"]})
    ref, body = claim([("storage", nic.name)], extra_results=[address])
    with pytest.raises(ConfigError, match="found 0"):
        resolve(read_claim(body, ref), {nic.name: nic}.get, HostProbe(), {"storage": other}.get)
