"""dummy: a link with no wire, for a stable address inside the pod (needs `dummy`)."""

from __future__ import annotations

from netclaim_agent import netlink
from netclaim_agent.devices.base import DevicePlan, require_host_name
from netclaim_agent.devices.netdev import VirtualNetdevHandler
from netclaim_agent.model import DeviceKind


class DummyHandler(VirtualNetdevHandler, kind=DeviceKind.DUMMY):
    def create(self, plan: DevicePlan) -> None:
        netlink.create_dummy(require_host_name(plan))
