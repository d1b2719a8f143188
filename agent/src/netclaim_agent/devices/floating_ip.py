"""floating-ip: an address of a FloatingIPPool, on a veth pair of its own.

In the pod: the FIP as a host address (/32 or /128), and a policy rule sending everything from
it through a gateway on the host end (169.254.1.1, or fe80::1 for IPv6), so the pod's default
route stays the CNI's. On the node: a host route to the FIP over the host end (which answers
for the gateway: proxy ARP, or the link-local address itself), so the node forwards to the pod.
All of it is set when the sandbox starts (NRI) and goes with the veth pair, which the pod's
netns takes along when it is destroyed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from netclaim_agent import DRIVER_NAME, netlink, sysctl
from netclaim_agent.devices.base import DevicePlan, HostFacts, HostProbe, PlanInput
from netclaim_agent.devices.veth import VethHandler
from netclaim_agent.fip.announce import announce
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice
from netclaim_agent.netlink import RouteSpec
from netclaim_agent.opaque import DeviceConfig

TABLE = 2510
"""Policy-routing table (and rule priority) for replies from floating IPs."""
ANNOUNCE = f"{DRIVER_NAME}/announce"
"""Device attribute the agent sets from the pool's spec.announce."""
GRATUITOUS_ARP = "gratuitousARP"
"""Announce on the link: gratuitous ARP for IPv4, unsolicited neighbour advertisement for IPv6."""


@dataclass(frozen=True)
class Family:
    """What differs between an IPv4 and an IPv6 floating IP."""

    gateway: str
    """The pod's next hop, answered for by the host end of the pair."""
    host_prefix: int
    default: str
    on_link_gateway: bool
    """The pod needs a link route to the gateway (an IPv6 link-local gateway does not)."""
    host_end_addresses: tuple[str, ...] = ()
    host_end_sysctls: tuple[tuple[str, int], ...] = ()
    node_sysctls: tuple[str, ...] = ()
    """Paths under /proc/sys that must be 1 on the node."""
    uplink_sysctls: tuple[str, ...] = ()
    """The same per announcing link, `{uplink}` standing for its name."""

    def sysctls(self, uplinks: tuple[str, ...]) -> tuple[str, ...]:
        per_link = (path.format(uplink=u) for path in self.uplink_sysctls for u in uplinks)
        return (*self.node_sysctls, *per_link)

    def pod_routes(self) -> tuple[RouteSpec, ...]:
        default = RouteSpec(self.default, self.gateway, TABLE)
        if not self.on_link_gateway:
            return (default,)
        gateway = f"{self.gateway}/{self.host_prefix}"
        return (RouteSpec(gateway), RouteSpec(gateway, table=TABLE), default)


FAMILIES: dict[int, Family] = {
    4: Family(
        gateway="169.254.1.1",
        host_prefix=32,
        default="0.0.0.0/0",
        on_link_gateway=True,
        host_end_sysctls=(("ipv4.proxy_arp", 1),),
        node_sysctls=("net/ipv4/ip_forward",),
    ),
    # The kernel answers neighbour solicitations for a proxy entry only with proxy_ndp on;
    # netclaim leaves that sysctl of the node's uplink to the admin, and checks it.
    6: Family(
        gateway="fe80::1",
        host_prefix=128,
        default="::/0",
        on_link_gateway=False,
        host_end_addresses=("fe80::1/64",),
        node_sysctls=("net/ipv6/conf/all/forwarding",),
        uplink_sysctls=("net/ipv6/conf/{uplink}/proxy_ndp",),
    ),
}


def floating_ip(device: InventoryDevice) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(device.attributes.get(f"{DRIVER_NAME}/ip", "")))
    except ValueError:
        return None


def announces(device: InventoryDevice) -> bool:
    return device.attributes.get(ANNOUNCE) == GRATUITOUS_ARP


class FloatingIpHandler(VethHandler, kind=DeviceKind.FLOATING_IP):
    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        facts = super().gather(device, config, probe)
        uplinks = probe.uplinks() if announces(device) else ()
        address = floating_ip(device)
        needed = FAMILIES[address.version].sysctls(uplinks) if address is not None else ()
        off = tuple(path for path in needed if not probe.sysctl_enabled(path))
        return replace(facts, uplinks=uplinks, sysctls_off=off)

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        if floating_ip(given.device) is None:
            found.append(f"device: {given.device.name!r} names no IP address")
        if given.injection is not Injection.NRI:
            found.append("device: floating IPs need NRI injection (routes and rules in the pod)")
        if given.config.addresses:
            found.append("interface.addresses: a floating-IP interface carries only its address")
        if given.config.routes:
            found.append("interface.routes: netclaim sets the routes of a floating-IP interface")
        if announces(given.device) and not given.facts.uplinks:
            found.append("device: gratuitousARP announce, but the node has no default-route link")
        found.extend(
            f"device: {floating_ip(given.device)} needs {path.replace('/', '.')}=1 on the node"
            for path in given.facts.sysctls_off
        )
        return found

    def addresses(self, given: PlanInput) -> tuple[str, ...]:
        """Only the floating IP, as a host address (MPTCP endpoints default to it)."""
        address = floating_ip(given.device)
        return (f"{address}/{FAMILIES[address.version].host_prefix}",) if address else ()

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        address = floating_ip(given.device)
        assert address is not None  # problems() refused the plan otherwise
        return replace(
            plan,
            announce_on=given.facts.uplinks if announces(given.device) else (),
            routes=FAMILIES[address.version].pod_routes(),
        )

    def attach(self, plan: DevicePlan, netns: str) -> None:
        super().attach(plan, netns)
        [address] = plan.addresses
        netlink.add_source_rule(address, TABLE, TABLE, netns)
        ip = ipaddress.ip_interface(address).ip
        family = FAMILIES[ip.version]
        if plan.peer_name is not None:
            if family.host_end_sysctls:
                sysctl.write_sysctls(plan.peer_name, dict(family.host_end_sysctls))
            netlink.configure_link(
                plan.peer_name,
                addresses=family.host_end_addresses,
                routes=(RouteSpec(address),),
                up=True,
            )
        # Announced last, once the route to the pod is in place: answering for an address
        # with nowhere to send it would black-hole the clients.
        for uplink in plan.announce_on:
            netlink.set_proxy_neighbour(str(ip), uplink, present=True)
            announce(uplink, str(ip))

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
