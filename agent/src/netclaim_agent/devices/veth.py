"""veth: a pair per claim; one end moves into the pod, the other stays on the host."""

from __future__ import annotations

from dataclasses import replace

from netclaim_agent import netlink
from netclaim_agent.devices.base import DevicePlan, PlanInput, require_host_name, short_hash
from netclaim_agent.devices.netdev import VirtualNetdevHandler
from netclaim_agent.errors import DeviceError
from netclaim_agent.model import DeviceKind


class VethHandler(VirtualNetdevHandler, kind=DeviceKind.VETH):
    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        for field in ("parent", "mode", "vlan", "trust", "spoofchk"):
            if getattr(given.config, field) is not None:
                found.append(f"device.{field}: not used by veth")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        plan = super().build(given, plan)
        return replace(plan, peer_name=f"nc{short_hash(given.claim_uid, given.index)}")

    def create(self, plan: DevicePlan) -> None:
        if plan.peer_name is None:
            raise DeviceError(f"veth {plan.device!r}: plan has no host end name")
        netlink.create_veth(plan.peer_name, require_host_name(plan))
        # The host end is the pod's gateway side: it must be up for traffic to flow.
        netlink.set_link_up(plan.peer_name)
