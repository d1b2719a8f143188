"""Turn links and sysfs facts into the devices this node offers (`InventoryDevice` records)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from netclaim_agent.discovery import hardware
from netclaim_agent.discovery.names import device_name, short_hash
from netclaim_agent.discovery.netdevs import Link, agent_owned, lendable
from netclaim_agent.model import AttributeValue, DeviceKind, InventoryDevice

log = logging.getLogger(__name__)

DEFAULT_SLOTS = 128
"""Claims one virtual device may serve at once (kubelet's default is 110 pods per node)."""
MAX_STRING = 64


def _device(
    name: str,
    kind: DeviceKind,
    attrs: Mapping[str, AttributeValue | None],
    *,
    ifname: str | None = None,
    pci_address: str | None = None,
    rdma_device: str | None = None,
    slots: int | None = None,
) -> InventoryDevice:
    attributes: dict[str, AttributeValue] = {"kind": kind.value, "virtual": kind.virtual}
    for key, value in attrs.items():
        if value is None or value == "":
            continue  # not known
        if isinstance(value, str) and len(value) > MAX_STRING:
            log.debug("device %s: attribute %s dropped (over 64 characters)", name, key)
            continue
        attributes[key] = value
    return InventoryDevice(
        name=name,
        kind=kind,
        attributes=attributes,
        ifname=ifname,
        pci_address=pci_address,
        rdma_device=rdma_device,
        slots=slots,
    )


def netdev_devices(
    links: Sequence[Link], protected: frozenset[str], sysfs_root: Path, slots: int
) -> Iterator[InventoryDevice]:
    """host-device, macvlan and ipvlan devices for each lendable Ethernet link (VFs excepted)."""
    for link in lendable(list(links), protected):
        if hardware.is_vf_netdev(sysfs_root, link.name):
            continue  # offered as sriov-vf
        pci = hardware.pci_attributes(sysfs_root, link.name)
        yield _device(
            device_name("host", link.name),
            DeviceKind.HOST_DEVICE,
            {"ifName": link.name, "mac": link.mac, "mtu": link.mtu, **pci},
            ifname=link.name,
            pci_address=_pci_address(pci),
        )
        for kind in (DeviceKind.MACVLAN, DeviceKind.IPVLAN):
            yield _device(
                device_name(kind.value, link.name),
                kind,
                {"ifName": link.name, "mtu": link.mtu, **pci},
                ifname=link.name,
                slots=slots,
            )


def _pci_address(pci: Mapping[str, AttributeValue]) -> str | None:
    address = pci.get("pciAddress")
    return None if address is None else str(address)


def _usable(ifname: str, protected: frozenset[str]) -> bool:
    return ifname not in protected and not agent_owned(ifname)


def sriov_devices(sysfs_root: Path, protected: frozenset[str]) -> Iterator[InventoryDevice]:
    for vf in hardware.sriov_vfs(sysfs_root):
        if not _usable(vf.ifname, protected):
            continue
        yield _device(
            device_name("vf", vf.pci_address),
            DeviceKind.SRIOV_VF,
            {
                "ifName": vf.ifname,
                "pfName": vf.pf_name,
                "vfIndex": vf.index,
                "mac": hardware.netdev_text(sysfs_root, vf.ifname, "address"),
                "mtu": hardware.netdev_int(sysfs_root, vf.ifname, "mtu"),
                **hardware.pci_attributes(sysfs_root, vf.ifname),
                # the VF's own PCI function, also when its netdev is not visible here
                "pciAddress": vf.pci_address,
                "resource.kubernetes.io/pciBusID": vf.pci_address,
            },
            ifname=vf.ifname,
            pci_address=vf.pci_address,
        )


def rdma_devices(sysfs_root: Path, protected: frozenset[str]) -> Iterator[InventoryDevice]:
    """An rdma device per RDMA device; a roce device too for each of its usable netdevs."""
    for rdma in hardware.rdma_devices(sysfs_root):
        pci = hardware.rdma_pci_attributes(sysfs_root, rdma.name)
        yield _device(
            device_name("rdma", rdma.name),
            DeviceKind.RDMA,
            {"rdmaDevice": rdma.name, **pci},
            rdma_device=rdma.name,
            pci_address=rdma.pci_address,
        )
        for netdev in rdma.netdevs:
            if not _usable(netdev, protected):
                continue
            if hardware.netdev_int(sysfs_root, netdev, "type") == hardware.ARPHRD_INFINIBAND:
                continue  # InfiniBand port: its netdev is offered as ipoib
            suffix = rdma.name if len(rdma.netdevs) == 1 else f"{rdma.name}-{netdev}"
            yield _device(
                device_name("roce", suffix),
                DeviceKind.ROCE,
                {
                    "rdmaDevice": rdma.name,
                    "ifName": netdev,
                    "mac": hardware.netdev_text(sysfs_root, netdev, "address"),
                    "mtu": hardware.netdev_int(sysfs_root, netdev, "mtu"),
                    **pci,
                },
                ifname=netdev,
                rdma_device=rdma.name,
                pci_address=rdma.pci_address,
            )


def ipoib_devices(sysfs_root: Path, protected: frozenset[str]) -> Iterator[InventoryDevice]:
    for ifname in hardware.ipoib_links(sysfs_root):
        if not _usable(ifname, protected):
            continue
        pci = hardware.pci_attributes(sysfs_root, ifname)
        yield _device(
            device_name("ipoib", ifname),
            DeviceKind.IPOIB,
            {
                "ifName": ifname,
                "mac": hardware.netdev_text(sysfs_root, ifname, "address"),
                "mtu": hardware.netdev_int(sysfs_root, ifname, "mtu"),
                **pci,
            },
            ifname=ifname,
            pci_address=_pci_address(pci),
        )


def standalone_devices(slots: int) -> Iterator[InventoryDevice]:
    """veth and dummy: created from nothing, so one device each with shared capacity."""
    for kind in (DeviceKind.VETH, DeviceKind.DUMMY):
        yield _device(kind.value, kind, {}, slots=slots)


def unique(devices: Iterable[InventoryDevice]) -> tuple[InventoryDevice, ...]:
    """Sorted by name; names that collide (`eth_1`/`eth.1`) get a hash of what they stand for."""
    found = list(devices)
    counts: dict[str, int] = {}
    for device in found:
        counts[device.name] = counts.get(device.name, 0) + 1
    result = []
    for device in found:
        if counts[device.name] > 1:
            ident = f"{device.kind}/{device.ifname}/{device.pci_address}/{device.rdma_device}"
            name = f"{device.name[:52].rstrip('-')}-{short_hash(ident)}"
            result.append(replace(device, name=name))
        else:
            result.append(device)
    return tuple(sorted(result, key=lambda d: d.name))


def discover(
    links: Sequence[Link], protected: frozenset[str], sysfs_root: Path, slots: int
) -> tuple[InventoryDevice, ...]:
    """Everything this node offers, from a link dump and the sysfs tree."""
    return unique(
        [
            *netdev_devices(links, protected, sysfs_root, slots),
            *sriov_devices(sysfs_root, protected),
            *rdma_devices(sysfs_root, protected),
            *ipoib_devices(sysfs_root, protected),
            *standalone_devices(slots),
        ]
    )
