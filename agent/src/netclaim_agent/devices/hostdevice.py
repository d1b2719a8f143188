"""host-device: an existing host netdev lent to one pod, returned with its name and MTU."""

from __future__ import annotations

from netclaim_agent.devices.netdev import HostNetdevHandler
from netclaim_agent.model import DeviceKind


class HostDeviceHandler(HostNetdevHandler, kind=DeviceKind.HOST_DEVICE):
    pass
