"""Floating-IP plans per address family, and the announcements' wire format."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

import pytest
from agent_testdata import claim, fip_result, network_config, opaque

from netclaim_agent.claims import read_claim
from netclaim_agent.devices import DevicePlan, HostProbe
from netclaim_agent.errors import ConfigError
from netclaim_agent.fip.announce import arp_announcement, neighbour_advertisement
from netclaim_agent.model import Injection
from netclaim_agent.netlink import RouteSpec
from netclaim_agent.planning import plan_claim, resolve

MAC = bytes.fromhex("020000000042")


def fip_plan(
    device: str,
    probe: HostProbe | None = None,
    announce: str = "hostRoute",
    config: dict[str, Any] | None = None,
) -> DevicePlan:
    result = {**fip_result("198.51.100.7"), "device": device}
    ref, body = claim([], [opaque(config)] if config else [], extra_results=[result])
    allocation = read_claim(body, ref)
    resolved = resolve(allocation, {}.get, probe or HostProbe(), announce=lambda _pool: announce)
    [plan] = plan_claim(allocation, resolved, Injection.NRI).devices
    return plan


def test_an_ipv4_floating_ip_is_a_host_address_routed_through_169_254_1_1() -> None:
    plan = fip_plan("fip-198-51-100-7")
    assert plan.addresses == ("198.51.100.7/32",)
    assert plan.routes == (
        RouteSpec("169.254.1.1/32"),
        RouteSpec("169.254.1.1/32", table=2510),
        RouteSpec("0.0.0.0/0", "169.254.1.1", 2510),
    )


def test_an_ipv6_floating_ip_is_a_host_address_routed_through_a_link_local_gateway() -> None:
    plan = fip_plan("fip-2001-0db8-0000-0000-0000-0000-0000-0007")
    assert plan.addresses == ("2001:db8::7/128",)
    assert plan.routes == (RouteSpec("::/0", "fe80::1", 2510),)
    assert plan.announce_on == ()


def test_mptcp_endpoints_of_a_floating_ip_claim_default_to_the_floating_ip() -> None:
    config = {**network_config(), "mptcp": {"endpoints": [{"flags": ["signal"]}]}}
    plan = fip_plan("fip-198-51-100-7", config=config)
    assert plan.mptcp is not None
    assert [(e.address, e.flags) for e in plan.mptcp.endpoints] == [("198.51.100.7", ("signal",))]


def test_floating_ips_name_the_node_sysctls_they_lack() -> None:
    ipv4_only = HostProbe(uplinks=lambda: ("eth0",), sysctl_enabled=lambda p: "ipv4" in p)
    with pytest.raises(ConfigError) as failed:
        fip_plan("fip-2001-0db8-0000-0000-0000-0000-0000-0007", ipv4_only, "gratuitousARP")
    assert failed.value.problems == [
        "request 'fip': device: 2001:db8::7 needs net.ipv6.conf.all.forwarding=1 on the node",
        "request 'fip': device: 2001:db8::7 needs net.ipv6.conf.eth0.proxy_ndp=1 on the node",
    ]
    assert fip_plan("fip-198-51-100-7", ipv4_only, "gratuitousARP").announce_on == ("eth0",)

    nothing_on = HostProbe(sysctl_enabled=lambda _path: False)
    with pytest.raises(ConfigError) as failed:
        fip_plan("fip-198-51-100-7", nothing_on)
    assert failed.value.problems == [
        "request 'fip': device: 198.51.100.7 needs net.ipv4.ip_forward=1 on the node"
    ]


def test_gratuitous_arp_is_a_broadcast_request_for_the_address_itself() -> None:
    frame = arp_announcement(MAC, ipaddress.IPv4Address("198.51.100.7"))
    assert frame[:12] == b"\xff" * 6 + MAC and frame[12:14] == b"\x08\x06"
    _, _, _, _, op, sender_mac, sender_ip, _, target_ip = struct.unpack(
        "!HHBBH6s4s6s4s", frame[14:]
    )
    assert (op, sender_mac) == (1, MAC)
    assert sender_ip == target_ip == bytes([198, 51, 100, 7])


def test_an_unsolicited_advertisement_overrides_the_cached_mac() -> None:
    message = neighbour_advertisement(MAC, ipaddress.IPv6Address("2001:db8::7"))
    kind, code, checksum, flags, target, option, length, mac = struct.unpack(
        "!BBHI16sBB6s", message
    )
    assert (kind, code, checksum) == (136, 0, 0)  # the kernel computes the checksum
    assert flags & 0x20000000, "Override set: receivers replace the MAC they hold"
    assert not flags & 0x40000000, "Solicited clear: nobody asked"
    assert target == ipaddress.IPv6Address("2001:db8::7").packed
    assert (option, length, mac) == (2, 1, MAC)


def test_mptcp_endpoints_must_name_an_address_the_interface_gets() -> None:
    config = {
        **network_config(),
        "mptcp": {"endpoints": [{"address": "192.0.2.9", "flags": ["signal"]}]},
    }
    with pytest.raises(ConfigError) as failed:
        fip_plan("fip-198-51-100-7", config=config)
    assert failed.value.problems == [
        "request 'fip': mptcp.endpoints[0].address: 192.0.2.9 is not an address of the interface"
    ]
