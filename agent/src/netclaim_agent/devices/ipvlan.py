"""ipvlan: like macvlan but children share the parent's MAC (needs the `ipvlan` module)."""

from __future__ import annotations

from dataclasses import replace

from netclaim_agent.devices.base import DevicePlan, PlanInput
from netclaim_agent.devices.netdev import StackedHandler
from netclaim_agent.model import DeviceKind


class IpvlanHandler(StackedHandler, kind=DeviceKind.IPVLAN):
    modes = ("l2", "l3", "l3s")

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        if given.config.mac is not None:
            found.append("interface.mac: ipvlan children always use the parent's MAC")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        # No derived MAC: the kernel ignores it and status would report a wrong one.
        return replace(super().build(given, plan), mac=None)
