"""macvlan: a child of the published parent netdev, created per claim."""

from __future__ import annotations

from netclaim_agent.devices.netdev import StackedHandler
from netclaim_agent.model import DeviceKind


class MacvlanHandler(StackedHandler, kind=DeviceKind.MACVLAN):
    modes = ("bridge", "private", "vepa", "passthru", "source")
