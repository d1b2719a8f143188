"""FloatingIPPool → slices: address lists, device names, slicing, conflicts and counts."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from netclaim_agent.fip.pools import (
    PoolError,
    PoolSpec,
    address_of,
    addresses,
    build_pool_slices,
    conflicts,
    counts,
    device_name,
    held_addresses,
    holdings,
    stranded,
)


def pool(name: str, *cidrs: str, created: str = "2026-01-01T00:00:00Z", **spec: Any) -> PoolSpec:
    return PoolSpec.from_object(
        {
            "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": created},
            "spec": {"cidrs": list(cidrs), **spec},
        }
    )


def ips(*texts: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ipaddress.ip_address(t) for t in texts]


def test_addresses_leave_out_network_broadcast_and_excluded() -> None:
    spec = pool("a", "198.51.100.0/29", "198.51.100.8/31", excludedAddresses=["198.51.100.3"])
    assert [str(a) for a in addresses(spec)] == [
        "198.51.100.1", "198.51.100.2", "198.51.100.4", "198.51.100.5", "198.51.100.6",
        "198.51.100.8", "198.51.100.9",
    ]  # fmt: skip
    assert len(addresses(pool("v6", "fd00:1::/126"))) == 4


@pytest.mark.parametrize("text", ["198.51.100.7", "fd00::1", "2001:db8:ffff::abcd"])
def test_device_names_are_dns_labels_that_map_back(text: str) -> None:
    address = ipaddress.ip_address(text)
    name = device_name(address)
    assert len(name) <= 63 and name == name.lower() and ":" not in name and "." not in name
    assert address_of(name) == address
    assert address_of("veth") is None and address_of("fip-not-an-ip") is None


def test_slices_hold_at_most_128_devices_with_pool_attributes_and_owner() -> None:
    spec = pool("big", "10.80.0.0/23")
    slices = build_pool_slices(spec, 3, held=())
    assert [len(s["spec"]["devices"]) for s in slices] == [128, 128, 128, 126]
    first = slices[0]
    assert first["spec"]["allNodes"] is True and "nodeName" not in first["spec"]
    assert first["spec"]["pool"] == {
        "name": "floating-ip/big", "generation": 3, "resourceSliceCount": 4,
    }  # fmt: skip
    [owner] = first["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("FloatingIPPool", "big", "uid-big")
    device = first["spec"]["devices"][0]
    assert device["name"] == "fip-10-80-0-1"
    assert device["attributes"]["netclaim.io/ip"] == {"string": "10.80.0.1"}
    assert device["attributes"]["netclaim.io/kind"] == {"string": "floating-ip"}
    assert device["attributes"]["netclaim.io/family"] == {"string": "ipv4"}


def test_too_large_and_invalid_pools_are_errors() -> None:
    with pytest.raises(PoolError) as too_large:
        addresses(pool("huge", "10.0.0.0/16"))
    assert too_large.value.reason == "TooLarge"
    with pytest.raises(PoolError) as invalid:
        pool("bad", "10.0.0.1/24")
    assert invalid.value.reason == "InvalidSpec" and "host bits" in str(invalid.value)


def test_node_selector_becomes_one_term() -> None:
    spec = pool("edge", "198.51.100.0/30", nodeSelector={"zone": "a", "edge": "true"})
    [only] = build_pool_slices(spec, 1, held=())
    assert "allNodes" not in only["spec"]
    assert only["spec"]["nodeSelector"]["nodeSelectorTerms"] == [
        {
            "matchExpressions": [
                {"key": "edge", "operator": "In", "values": ["true"]},
                {"key": "zone", "operator": "In", "values": ["a"]},
            ]
        }
    ]


def test_held_addresses_stay_published_when_the_pool_shrinks_or_stops() -> None:
    shrunk = pool("a", "198.51.100.0/30")
    held = ips("198.51.100.2", "198.51.100.9")
    [only] = build_pool_slices(shrunk, 2, held)
    by_name = {d["name"]: d["attributes"] for d in only["spec"]["devices"]}
    assert set(by_name) == {"fip-198-51-100-1", "fip-198-51-100-2", "fip-198-51-100-9"}
    assert by_name["fip-198-51-100-9"]["netclaim.io/retiring"] == {"bool": True}
    assert "netclaim.io/retiring" not in by_name["fip-198-51-100-2"]
    [stopped] = build_pool_slices(shrunk, 3, held, publish=False)
    assert {d["name"] for d in stopped["spec"]["devices"]} == {
        "fip-198-51-100-2", "fip-198-51-100-9",
    }  # fmt: skip


def test_held_addresses_come_from_our_results_in_that_pool() -> None:
    def claim(*results: dict[str, str]) -> dict[str, Any]:
        return {"status": {"allocation": {"devices": {"results": list(results)}}}}

    claims = [
        claim({"driver": "netclaim.io", "pool": "floating-ip/a", "device": "fip-198-51-100-1"}),
        claim({"driver": "netclaim.io", "pool": "floating-ip/b", "device": "fip-198-51-100-2"}),
        claim({"driver": "other.io", "pool": "floating-ip/a", "device": "fip-198-51-100-3"}),
        {"status": {}},
    ]
    assert held_addresses(claims, "floating-ip/a") == set(ips("198.51.100.1"))
    assert counts(pool("a", "198.51.100.0/29"), ips("198.51.100.1")).free == 5


def test_the_younger_of_two_overlapping_pools_is_refused() -> None:
    older = pool("old", "198.51.100.0/28", created="2026-01-01T00:00:00Z")
    younger = pool("new", "198.51.100.8/29", created="2026-02-01T00:00:00Z")
    both = [older, younger]
    problem = conflicts(younger, both, [])
    assert problem is not None and problem.reason == "OverlapsPool" and "old" in str(problem)
    assert conflicts(older, both, []) is None


def test_a_pool_containing_a_node_address_is_refused() -> None:
    spec = pool("a", "198.18.250.0/29")
    problem = conflicts(spec, [spec], ["127.0.0.1", "198.18.250.2"])
    assert problem is not None and problem.reason == "ContainsNodeAddress"
    assert conflicts(spec, [spec], ["127.0.0.1", "not-an-ip"]) is None


def test_addresses_held_on_a_node_that_is_not_ready_are_named() -> None:
    claim = {
        "metadata": {"namespace": "app", "name": "fip"},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {
                            "request": "fip",
                            "driver": "netclaim.io",
                            "pool": "floating-ip/a",
                            "device": "fip-198-51-100-7",
                        }
                    ]
                }
            },
            "reservedFor": [{"resource": "pods", "name": "web", "uid": "u1"}],
        },
    }
    [held] = holdings([claim], "floating-ip/a")
    assert (str(held.address), held.claim, held.pods) == (
        "198.51.100.7",
        "app/fip",
        (("app", "web"),),
    )
    assert stranded([held], {("app", "web"): "node-2"}, {"node-1", "node-2"}) == []
    assert stranded([held], {("app", "web"): "node-2"}, {"node-1"}) == [
        "198.51.100.7 (claim app/fip, pod app/web on node node-2)"
    ]
    assert holdings([claim], "floating-ip/other") == []
