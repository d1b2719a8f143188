"""ipoib: an IPoIB netdev lent to one pod like a host device (no MAC override: 20-byte L2)."""

from __future__ import annotations

from dataclasses import replace

from netclaim_agent.devices.base import DevicePlan, PlanInput
from netclaim_agent.devices.netdev import HostNetdevHandler
from netclaim_agent.model import DeviceKind


class IpoibHandler(HostNetdevHandler, kind=DeviceKind.IPOIB):
    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given)
        if given.config.mac is not None:
            found.append("interface.mac: IPoIB hardware addresses cannot be set")
        return found

    def build(self, given: PlanInput, plan: DevicePlan) -> DevicePlan:
        return replace(super().build(given, plan), mac=None, original_mac=None)
