"""What sysfs tells about netdevs: PCI placement, SR-IOV VFs, RDMA devices, IPoIB links.

Every function takes the sysfs root, so tests build fake trees instead of mocking. Missing or
unreadable files mean "not known" and are skipped, never an error: hardware comes and goes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netclaim_agent.model import AttributeValue

log = logging.getLogger(__name__)

ARPHRD_INFINIBAND = 32
_PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_VIRTIO = re.compile(r"^virtio[0-9]+$")
_PCIE_ROOT = re.compile(r"^pci[0-9a-f]{4}:[0-9a-f]{2}$")


@dataclass(frozen=True)
class VfNetdev:
    """One SR-IOV VF that has a netdev."""

    pf_name: str
    index: int
    pci_address: str
    ifname: str


@dataclass(frozen=True)
class RdmaDevice:
    name: str
    pci_address: str | None
    netdevs: tuple[str, ...]


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:  # absent, or an attribute the driver refuses to show (EINVAL)
        return None


def read_int(path: Path) -> int | None:
    text = read_text(path)
    try:
        return int(text, 0) if text else None
    except ValueError:
        return None


def _pci_dir(device_link: Path) -> Path | None:
    """The PCI function a `device` symlink points at, or whose `virtioN` device it points at."""
    try:
        target = device_link.resolve(strict=True)
    except OSError:
        return None
    if _VIRTIO.match(target.name):
        target = target.parent
    return target if _PCI_ADDRESS.match(target.name) else None


def pci_attributes(sysfs_root: Path, ifname: str) -> dict[str, AttributeValue]:
    """pciAddress, numaNode and the standard pcieRoot/pciBusID attributes of a netdev."""
    return pci_dir_attributes(_pci_dir(sysfs_root / "class/net" / ifname / "device"))


def pci_dir_attributes(pci_dir: Path | None) -> dict[str, AttributeValue]:
    if pci_dir is None:
        return {}
    attrs: dict[str, AttributeValue] = {
        "pciAddress": pci_dir.name,
        "resource.kubernetes.io/pciBusID": pci_dir.name,
    }
    root = next((part for part in pci_dir.parts if _PCIE_ROOT.match(part)), None)
    if root is not None:
        attrs["resource.kubernetes.io/pcieRoot"] = root
    numa = read_int(pci_dir / "numa_node")
    if numa is not None and numa >= 0:
        attrs["numaNode"] = numa
    return attrs


def is_vf_netdev(sysfs_root: Path, ifname: str) -> bool:
    return (sysfs_root / "class/net" / ifname / "device/physfn").exists()


def _netdevs(pci_dir: Path) -> tuple[str, ...]:
    net = pci_dir / "net"
    return tuple(sorted(p.name for p in net.iterdir())) if net.is_dir() else ()


def _virtfn_index(link: Path) -> int | None:
    suffix = link.name.removeprefix("virtfn")
    return int(suffix) if suffix.isdigit() else None


def sriov_vfs(sysfs_root: Path) -> Iterator[VfNetdev]:
    """Every VF with a netdev, of every PF netdev that has `sriov_totalvfs` (each VF once)."""
    seen: set[str] = set()
    for pf_link in _listdir(sysfs_root / "class/net"):
        pf_dir = _pci_dir(pf_link / "device")
        if pf_dir is None or not (pf_dir / "sriov_totalvfs").exists():
            continue
        for virtfn in sorted(pf_dir.glob("virtfn*")):
            index = _virtfn_index(virtfn)
            vf_dir = _pci_dir(virtfn)
            if index is None or vf_dir is None or vf_dir.name in seen:
                continue
            netdevs = _netdevs(vf_dir)
            if not netdevs:  # bound to vfio-pci or similar: not a netdev we can lend
                continue
            seen.add(vf_dir.name)
            yield VfNetdev(pf_link.name, index, vf_dir.name, netdevs[0])


def rdma_devices(sysfs_root: Path) -> Iterator[RdmaDevice]:
    """Every `class/infiniband` device with its PCI address and netdevs (RoCE)."""
    for dev in _listdir(sysfs_root / "class/infiniband"):
        pci_dir = _pci_dir(dev / "device")
        netdevs = set(_netdevs(pci_dir)) if pci_dir is not None else set()
        for ndev in (dev / "ports").glob("*/gid_attrs/ndevs/*"):
            name = read_text(ndev)
            if name:
                netdevs.add(name)
        yield RdmaDevice(
            dev.name, None if pci_dir is None else pci_dir.name, tuple(sorted(netdevs))
        )


def rdma_pci_attributes(sysfs_root: Path, rdma_device: str) -> dict[str, AttributeValue]:
    return pci_dir_attributes(_pci_dir(sysfs_root / "class/infiniband" / rdma_device / "device"))


def ipoib_links(sysfs_root: Path) -> Iterator[str]:
    """Names of netdevs whose link type is InfiniBand (IPoIB)."""
    for link in _listdir(sysfs_root / "class/net"):
        if read_int(link / "type") == ARPHRD_INFINIBAND:
            yield link.name


def netdev_text(sysfs_root: Path, ifname: str, attribute: str) -> str | None:
    return read_text(sysfs_root / "class/net" / ifname / attribute)


def netdev_int(sysfs_root: Path, ifname: str, attribute: str) -> int | None:
    return read_int(sysfs_root / "class/net" / ifname / attribute)


def _listdir(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except OSError:
        return []
