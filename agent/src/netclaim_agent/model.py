"""Plain value types shared across the agent's layers.

Nothing here talks to the kernel, the API server or gRPC: these are the records that discovery
produces, the publisher turns into ResourceSlice devices, and Prepare looks up by device name.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

AttributeValue = str | int | bool
"""A ResourceSlice attribute value (the API's string/int/bool kinds)."""


class DeviceKind(enum.StrEnum):
    """Every kind of device netclaim can hand to a pod; the value is the opaque config `kind`."""

    VETH = "veth"
    MACVLAN = "macvlan"
    IPVLAN = "ipvlan"
    DUMMY = "dummy"
    HOST_DEVICE = "host-device"
    SRIOV_VF = "sriov-vf"
    IPOIB = "ipoib"
    RDMA = "rdma"
    ROCE = "roce"
    FLOATING_IP = "floating-ip"
    """An address of a FloatingIPPool, on a veth pair of its own (not node inventory)."""

    @property
    def virtual(self) -> bool:
        """Virtual kinds are created per claim from one shared device with `slots` capacity."""
        return self in _VIRTUAL_KINDS


_VIRTUAL_KINDS = frozenset(
    {DeviceKind.VETH, DeviceKind.MACVLAN, DeviceKind.IPVLAN, DeviceKind.DUMMY}
)


@dataclass(frozen=True)
class InventoryDevice:
    """One device this node offers, as discovery found it.

    `name` is the device name in the ResourceSlice (a DNS label, unique in the node's pool).
    `attributes` keys are unqualified (published under `netclaim.io/`) unless they contain a
    `/` (published as given, e.g. `resource.kubernetes.io/pcieRoot`).
    """

    name: str
    kind: DeviceKind
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    ifname: str | None = None
    """Host netdev this device is (host-device, sriov-vf, ipoib, roce) or hangs off (macvlan
    and ipvlan parent)."""
    pci_address: str | None = None
    rdma_device: str | None = None
    slots: int | None = None
    """For virtual kinds: how many claims may share the device (consumable `slots` capacity)."""


@dataclass(frozen=True)
class ClaimRef:
    """A claim as kubelet names it in NodePrepareResources / NodeUnprepareResources."""

    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} ({self.uid})"


@dataclass(frozen=True)
class PreparedDevice:
    """What kubelet gets back for one allocated device."""

    request_names: tuple[str, ...]
    pool_name: str
    device_name: str
    cdi_device_ids: tuple[str, ...]
    share_id: str | None = None


@dataclass(frozen=True)
class NetworkData:
    """What the claim's `status.devices[]` entry reports for one prepared device."""

    pool_name: str
    device_name: str
    share_id: str | None
    interface_name: str
    hardware_address: str | None = None
    ips: tuple[str, ...] = ()
    """CIDR strings, e.g. `192.0.2.10/24`."""


@dataclass(frozen=True)
class PrepareResult:
    """Per-claim answer: devices on success, or a message naming the field and the reason."""

    devices: tuple[PreparedDevice, ...] = ()
    network: tuple[NetworkData, ...] = ()
    error: str | None = None


class Injection(enum.StrEnum):
    """How a prepared interface reaches the pod."""

    NRI = "nri"
    """The NRI RunPodSandbox hook moves or creates it in the pod netns (survives restarts)."""
    CDI = "cdi"
    """runc moves it at container creation from the CDI spec's `netDevices` (no NRI needed)."""


MPTCP_ENDPOINT_FLAGS = ("signal", "subflow", "backup", "fullmesh")


@dataclass(frozen=True)
class MptcpEndpoint:
    """One in-kernel path-manager endpoint: a local address and what to do with it."""

    address: str | None
    """None only in a config (each of the interface's addresses); plans name one."""
    flags: tuple[str, ...]
    """Any of MPTCP_ENDPOINT_FLAGS; signal announces it, subflow opens subflows from it."""
    port: int | None = None


@dataclass(frozen=True)
class MptcpSettings:
    """MPTCP for one pod netns (limits and `enabled` are netns-wide; endpoints per address)."""

    enabled: bool | None = None
    subflows: int | None = None
    add_addr_accepted: int | None = None
    endpoints: tuple[MptcpEndpoint, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> MptcpSettings:
        endpoints = record.get("endpoints") or ()
        assert isinstance(endpoints, list | tuple)
        return cls(
            enabled=_optional_bool(record.get("enabled")),
            subflows=_optional_int(record.get("subflows")),
            add_addr_accepted=_optional_int(record.get("add_addr_accepted")),
            endpoints=tuple(
                MptcpEndpoint(
                    address=None if e.get("address") is None else str(e["address"]),
                    flags=tuple(str(f) for f in e["flags"]),
                    port=_optional_int(e.get("port")),
                )
                for e in endpoints
            ),
        )


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _optional_bool(value: object) -> bool | None:
    return None if value is None else bool(value)
