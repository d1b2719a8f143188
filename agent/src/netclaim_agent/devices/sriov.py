"""sriov-vf: a VF netdev lent to one pod; VLAN, trust and spoof-check are set through its PF."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from netclaim_agent import netlink
from netclaim_agent.devices.base import DevicePlan, HostFacts, HostProbe, PlanInput, VfPlan
from netclaim_agent.devices.netdev import HostNetdevHandler
from netclaim_agent.devices.sysfs import vf_location
from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.netlink import LinkNotFound
from netclaim_agent.opaque import DeviceConfig


class SriovVfHandler(HostNetdevHandler, kind=DeviceKind.SRIOV_VF):
    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        facts = super().gather(device, config, probe)
        if device.pci_address is None:
            return facts
        return replace(facts, vf=vf_location(probe.sysfs_root, device.pci_address))

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        wants_vf_settings = any(
            value is not None
            for value in (given.config.vlan, given.config.trust, given.config.spoofchk)
        )
        if wants_vf_settings and given.facts.vf is None:
            found.append("device.vlan/trust/spoofchk: the VF's PF is unknown (no PCI address)")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        if given.facts.vf is None:
            return plan
        pf, index = given.facts.vf
        config = given.config
        vf = VfPlan(
            pf=pf, index=index, vlan=config.vlan, trust=config.trust, spoofchk=config.spoofchk
        )
        return replace(plan, vf=vf)

    def prepare(self, plan: DevicePlan) -> None:
        if plan.vf is not None:
            netlink.set_vf(
                plan.vf.pf,
                plan.vf.index,
                vlan=plan.vf.vlan,
                trust=plan.vf.trust,
                spoofchk=plan.vf.spoofchk,
            )
        super().prepare(plan)

    def release(self, plan: DevicePlan) -> None:
        super().release(plan)
        if plan.vf is not None and plan.vf.vlan:
            # Untag again so the next pod does not inherit this claim's VLAN; a PF that is
            # gone took the VF and its VLAN with it.
            with contextlib.suppress(LinkNotFound):
                netlink.set_vf(plan.vf.pf, plan.vf.index, vlan=0, trust=None, spoofchk=None)
