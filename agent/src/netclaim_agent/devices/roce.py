"""roce: an RDMA device together with its Ethernet netdev, in one claim."""

from __future__ import annotations

from netclaim_agent.devices.base import HostFacts, HostProbe, PlanInput
from netclaim_agent.devices.netdev import HostNetdevHandler
from netclaim_agent.devices.rdma import gather_char_devices, rdma_problems
from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.opaque import DeviceConfig

ROCE_CHAR_DEVICES = ("uverbs", "rdma_cm")
"""RoCE has no subnet manager, so no umad by default."""


class RoceHandler(HostNetdevHandler, kind=DeviceKind.ROCE):
    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        facts = super().gather(device, config, probe)
        return gather_char_devices(facts, device, config, probe, ROCE_CHAR_DEVICES)

    def problems(self, given: PlanInput) -> list[str]:
        return super().problems(given) + rdma_problems(given)
