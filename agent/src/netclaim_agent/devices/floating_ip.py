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
from netclaim_agent.devices.base import DevicePlan, HostFacts, HostProbe, PlanInput
from netclaim_agent.devices.veth import VethHandler
from netclaim_agent.fip.announce import gratuitous_arp
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice
from netclaim_agent.netlink import RouteSpec
from netclaim_agent.opaque import DeviceConfig

GATEWAY = "169.254.1.1"
TABLE = 2510
"""Policy-routing table (and rule priority) for replies from floating IPs."""
ANNOUNCE = f"{DRIVER_NAME}/announce"
"""Device attribute the agent sets from the pool's spec.announce."""
GRATUITOUS_ARP = "gratuitousARP"


def floating_ip(given: PlanInput) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(given.device.attributes.get(f"{DRIVER_NAME}/ip", "")))
    except ValueError:
        return None


def announces(device: InventoryDevice) -> bool:
    return device.attributes.get(ANNOUNCE) == GRATUITOUS_ARP


class FloatingIpHandler(VethHandler, kind=DeviceKind.FLOATING_IP):
    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        facts = super().gather(device, config, probe)
        return replace(facts, uplinks=probe.uplinks()) if announces(device) else facts

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
        if announces(given.device) and not given.facts.uplinks:
            found.append("device: gratuitousARP announce, but the node has no default-route link")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        gateway = f"{GATEWAY}/32"
        return replace(
            plan,
            announce_on=given.facts.uplinks if announces(given.device) else (),
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
        # Announced last, once the route to the pod is in place: answering ARP for an address
        # with nowhere to send it would black-hole the clients.
        ip = address.split("/")[0]
        for uplink in plan.announce_on:
            netlink.set_proxy_neighbour(ip, uplink, present=True)
            gratuitous_arp(uplink, ip)

    def detach(self, plan: DevicePlan, netns: str | None) -> None:
        self._withdraw(plan)  # first: the node stops answering for the address at once
        super().detach(plan, netns)

    def release(self, plan: DevicePlan) -> None:
        self._withdraw(plan)
        super().release(plan)

    def _withdraw(self, plan: DevicePlan) -> None:
        for uplink in plan.announce_on:
            for address in plan.addresses:
                netlink.set_proxy_neighbour(address.split("/")[0], uplink, present=False)
