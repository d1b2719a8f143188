"""Shared behaviour of the two netdev families: links we create, and host links we lend."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

from netclaim_agent import netlink
from netclaim_agent.devices.base import (
    DeviceHandler,
    DevicePlan,
    HostFacts,
    HostProbe,
    PlanInput,
    configure_in_pod,
    require_host_name,
    short_hash,
)
from netclaim_agent.errors import DeviceError
from netclaim_agent.model import Injection, InventoryDevice
from netclaim_agent.opaque import DeviceConfig
from netclaim_agent.threadns import NetnsGone

log = logging.getLogger(__name__)


def derived_mac(digest: str) -> str:
    """A stable locally administered unicast MAC, so status can report it before attach."""
    octets = ["02"] + [digest[i : i + 2] for i in range(0, 10, 2)]
    return ":".join(octets)


class NetdevHandler(DeviceHandler):
    """Kinds that give the pod a network interface."""

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        if given.injection is Injection.CDI:
            # runc moves the link and keeps its addresses, nothing else: say so up front.
            if given.config.routes:
                found.append("interface.routes: not supported with CDI injection (use NRI)")
            if given.config.sysctls:
                found.append("interface.sysctls: not supported with CDI injection (use NRI)")
            if given.config.mptcp:
                found.append("mptcp: not supported with CDI injection (use NRI)")
        return found

    def _in_pod(self, plan: DevicePlan, netns: str) -> bool:
        """True if our interface is already in the pod (a retried hook)."""
        name = plan.interface_name
        found = netlink.link_info(name, netns) if name is not None else None
        if found is None:
            return False
        if plan.mac is not None and (found.mac or "").lower() != plan.mac:
            raise DeviceError(
                f"the pod already has a different interface named {name!r} (MAC {found.mac})"
            )
        return True


class VirtualNetdevHandler(NetdevHandler):
    """A link created per claim under a host-unique temp name, then moved into the pod."""

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        digest = short_hash(given.claim_uid, given.index)
        return replace(plan, host_name=f"nt{digest}", mac=plan.mac or derived_mac(digest))

    def create(self, plan: DevicePlan) -> None:
        """Create the link named `plan.host_name` in the host netns (down)."""
        raise NotImplementedError

    def _create_fresh(self, plan: DevicePlan) -> None:
        self.release(plan)  # a half-made leftover of an interrupted attempt
        self.create(plan)

    def prepare(self, plan: DevicePlan) -> None:
        # Creating links is the slow netlink work (tens of ms for a veth pair): done here, so
        # the runtime's hook only moves and configures.
        self._create_fresh(plan)
        if plan.injection is not Injection.CDI:
            return
        netlink.configure_link(
            require_host_name(plan), mtu=plan.mtu, mac=plan.mac, addresses=plan.addresses
        )

    def attach(self, plan: DevicePlan, netns: str) -> None:
        if plan.injection is Injection.CDI:
            return  # runc moves it when the container is created
        if not self._in_pod(plan, netns):
            host_name = require_host_name(plan)
            if netlink.link_info(host_name) is None:
                self._create_fresh(plan)
            netlink.move_link(
                host_name, to_netns=netns, new_name=str(plan.interface_name), from_netns=None
            )
        configure_in_pod(plan, netns)

    def detach(self, plan: DevicePlan, netns: str | None) -> None:
        if netns is None or plan.interface_name is None:
            return  # the kernel destroys virtual links with their netns
        with contextlib.suppress(NetnsGone):
            netlink.delete_link(plan.interface_name, netns)

    def release(self, plan: DevicePlan) -> None:
        for name in (plan.peer_name, plan.host_name):
            if name:
                netlink.delete_link(name)


class StackedHandler(VirtualNetdevHandler):
    """macvlan / ipvlan: a child of a parent netdev that discovery published."""

    modes: tuple[str, ...] = ()

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        parent = given.config.parent or given.device.ifname
        inventory_parent = given.device.ifname
        if parent is None:
            found.append(f"device.parent: required for {self.kind} (device has no parent)")
        elif parent in given.facts.protected:
            found.append(f"device.parent: {parent!r} carries the node's default route")
        elif inventory_parent and parent != inventory_parent:
            found.append(
                f"device.parent: {parent!r} differs from the allocated device's parent "
                f"{inventory_parent!r}"
            )
        if given.config.mode is not None and given.config.mode not in self.modes:
            found.append(
                f"device.mode: {given.config.mode!r} is not a {self.kind} mode "
                f"({', '.join(self.modes)})"
            )
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        parent = given.config.parent or given.device.ifname
        return replace(plan, parent=parent, mode=given.config.mode or self.modes[0])

    def create(self, plan: DevicePlan) -> None:
        if plan.parent is None or plan.mode is None:
            raise DeviceError(f"{self.kind} {plan.device!r}: plan has no parent or mode")
        netlink.create_stacked(str(self.kind), require_host_name(plan), plan.parent, plan.mode)


class HostNetdevHandler(NetdevHandler):
    """An existing host netdev lent to the pod and given back with its name and MTU."""

    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        link = netlink.link_info(device.ifname) if device.ifname else None
        protected = probe.protected_among(device.ifname, config.parent)
        return HostFacts(protected=protected, link=link)

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        ifname = given.device.ifname
        if ifname is None:
            found.append(f"device: {given.device.name!r} has no host interface")
        elif ifname in given.facts.protected:
            found.append(f"device: {ifname!r} carries the node's default route")
        elif given.facts.link is None:
            found.append(f"device: host interface {ifname!r} not found")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        link = given.facts.link
        return replace(
            plan,
            host_name=given.device.ifname,
            original_mtu=link.mtu if link else None,
            original_mac=link.mac if link else None,
            mac=plan.mac or (link.mac if link else None),
        )

    def prepare(self, plan: DevicePlan) -> None:
        if plan.injection is Injection.CDI:
            netlink.configure_link(
                require_host_name(plan), mtu=plan.mtu, mac=plan.mac, addresses=plan.addresses
            )

    def attach(self, plan: DevicePlan, netns: str) -> None:
        if plan.injection is Injection.CDI:
            return
        if not self._in_pod(plan, netns):
            netlink.move_link(
                require_host_name(plan),
                to_netns=netns,
                new_name=str(plan.interface_name),
                from_netns=None,
            )
        configure_in_pod(plan, netns)

    def detach(self, plan: DevicePlan, netns: str | None) -> None:
        home = require_host_name(plan)
        if netns is not None and plan.interface_name is not None:
            try:
                if self._in_pod(plan, netns):
                    netlink.move_link(
                        plan.interface_name, to_netns=None, new_name=home, from_netns=netns
                    )
            except NetnsGone:
                pass
        self._restore_at_home(plan)

    def _restore_at_home(self, plan: DevicePlan) -> None:
        """Give the host link back its name, MTU and MAC, wherever the kernel left it."""
        home = require_host_name(plan)
        if netlink.link_info(home) is None:
            stray = netlink.find_link_by_mac(plan.mac) if plan.mac else None
            if stray is None:
                log.warning("host device %s not in the host netns (still in a pod?)", home)
                return
            netlink.rename_link(stray, home)
        netlink.remove_addresses(home, plan.addresses)
        netlink.configure_link(home, mtu=plan.original_mtu, mac=plan.original_mac)

    def release(self, plan: DevicePlan) -> None:
        self._restore_at_home(plan)
