"""rdma: RDMA character devices (uverbs, rdma_cm, umad) handed over as CDI deviceNodes."""

from __future__ import annotations

from dataclasses import replace

from netclaim_agent.devices.base import DeviceHandler, HostFacts, HostProbe, PlanInput
from netclaim_agent.devices.sysfs import RDMA_CHAR_DEVICES, rdma_char_devices
from netclaim_agent.model import DeviceKind, InventoryDevice
from netclaim_agent.opaque import DeviceConfig


def gather_char_devices(
    facts: HostFacts,
    device: InventoryDevice,
    config: DeviceConfig,
    probe: HostProbe,
    default: tuple[str, ...],
) -> HostFacts:
    """Add the device's RDMA nodes (the config's choice, else `default`) to `facts`."""
    if device.rdma_device is None:
        return facts
    wanted = config.rdma_char_devices if config.rdma_char_devices is not None else default
    return replace(
        facts, char_devices=rdma_char_devices(probe.sysfs_root, device.rdma_device, wanted)
    )


def rdma_problems(given: PlanInput) -> list[str]:
    if given.device.rdma_device is None:
        return [f"device: {given.device.name!r} has no RDMA device"]
    return []


class RdmaHandler(DeviceHandler, kind=DeviceKind.RDMA):
    has_netdev = False

    def gather(self, device: InventoryDevice, config: DeviceConfig, probe: HostProbe) -> HostFacts:
        facts = super().gather(device, config, probe)
        return gather_char_devices(facts, device, config, probe, RDMA_CHAR_DEVICES)

    def problems(self, given: PlanInput) -> list[str]:
        found = super().problems(given) + rdma_problems(given)
        config = given.config
        netdev_fields = {
            "interface.name": config.interface_name,
            "interface.mtu": config.mtu,
            "interface.mac": config.mac,
            "interface.addresses": config.addresses or None,
            "interface.routes": config.routes or None,
            "interface.sysctls": config.sysctls or None,
            "mptcp": config.mptcp,
        }
        found += [
            f"{k}: rdma devices have no netdev (use roce)" for k, v in netdev_fields.items() if v
        ]
        return found
