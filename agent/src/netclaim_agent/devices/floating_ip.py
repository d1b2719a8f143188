"""floating-ip: an address of a FloatingIPPool, on a veth pair of its own.

In the pod: FIP/32 on the interface, a link route to the gateway 169.254.1.1, and a policy rule
sending everything from the FIP through that gateway (the pod's default route stays the CNI's).
On the node: a /32 route to the FIP over the host end and proxy ARP on it, so the node answers
for 169.254.1.1 and forwards to the pod. All of it is set when the sandbox starts (NRI) and
goes with the veth pair, which the pod's netns takes along when it is destroyed."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from netclaim_agent import DRIVER_NAME, netlink, sysctl
from netclaim_agent.devices.base import DevicePlan, PlanInput
from netclaim_agent.devices.veth import VethHandler
from netclaim_agent.model import DeviceKind, Injection
from netclaim_agent.netlink import RouteSpec

GATEWAY = "169.254.1.1"
TABLE = 2510
"""Policy-routing table (and rule priority) for replies from floating IPs."""


def floating_ip(given: PlanInput) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(given.device.attributes.get(f"{DRIVER_NAME}/ip", "")))
    except ValueError:
        return None


class FloatingIpHandler(VethHandler, kind=DeviceKind.FLOATING_IP):
    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        address = floating_ip(given)
        if address is None:
            found.append(f"device: {given.device.name!r} names no IP address")
        elif address.version != 4:
            found.append(
                f"device: {address} is IPv6; floating IPv6 addresses are not supported yet"
            )
        if given.injection is not Injection.NRI:
            found.append("device: floating IPs need NRI injection (routes and rules in the pod)")
        if given.config.addresses:
            found.append("interface.addresses: a floating-IP interface carries only its address")
        if given.config.routes:
            found.append("interface.routes: netclaim sets the routes of a floating-IP interface")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        gateway = f"{GATEWAY}/32"
        return replace(
            plan,
            addresses=(f"{floating_ip(given)}/32",),
            routes=(
                RouteSpec(gateway),
                RouteSpec(gateway, table=TABLE),
                RouteSpec("0.0.0.0/0", GATEWAY, TABLE),
            ),
        )

    def attach(self, plan: DevicePlan, netns: str) -> None:
        super().attach(plan, netns)
        [address] = plan.addresses
        netlink.add_source_rule(address, TABLE, TABLE, netns)
        if plan.peer_name is not None:
            sysctl.write_sysctls(plan.peer_name, {"ipv4.proxy_arp": 1})
            netlink.configure_link(plan.peer_name, routes=(RouteSpec(address),), up=True)
