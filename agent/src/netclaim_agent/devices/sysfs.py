"""Read-only sysfs lookups for RDMA and SR-IOV; the root is a parameter so tests use fake trees."""

from __future__ import annotations

from pathlib import Path

from netclaim_agent.cdi import DeviceNode
from netclaim_agent.errors import DeviceError

RDMA_CHAR_DEVICES = ("uverbs", "rdma_cm", "umad")
_PER_DEVICE_DIR = {"uverbs": "infiniband_verbs", "umad": "infiniband_mad"}


def _major_minor(dev_file: Path) -> tuple[int, int]:
    try:
        major, minor = dev_file.read_text(encoding="ascii").strip().split(":")
        return int(major), int(minor)
    except (OSError, ValueError) as exc:
        raise DeviceError(f"cannot read device number from {dev_file}: {exc}") from exc


def rdma_char_devices(
    sysfs_root: Path, rdma_device: str, wanted: tuple[str, ...]
) -> tuple[DeviceNode, ...]:
    """The /dev/infiniband nodes of `rdma_device` (e.g. mlx5_0) named in `wanted`."""
    nodes = []
    for kind in wanted:
        if kind == "rdma_cm":
            # One connection-manager node serves every RDMA device.
            major, minor = _major_minor(sysfs_root / "class/misc/rdma_cm/dev")
            nodes.append(DeviceNode("/dev/infiniband/rdma_cm", major, minor))
            continue
        parent = sysfs_root / "class/infiniband" / rdma_device / "device" / _PER_DEVICE_DIR[kind]
        entries = sorted(parent.glob(f"{kind}*")) if parent.is_dir() else []
        if not entries:
            raise DeviceError(f"RDMA device {rdma_device!r} has no {kind} node under {parent}")
        for entry in entries:
            major, minor = _major_minor(entry / "dev")
            nodes.append(DeviceNode(f"/dev/infiniband/{entry.name}", major, minor))
    return tuple(nodes)


def vf_location(sysfs_root: Path, vf_pci: str) -> tuple[str, int]:
    """(PF netdev name, VF index) of the VF at PCI address `vf_pci`."""
    vf_dir = sysfs_root / "bus/pci/devices" / vf_pci
    physfn = vf_dir / "physfn"
    if not physfn.exists():
        raise DeviceError(f"{vf_pci} is not an SR-IOV VF (no {physfn})")
    pf_dir = physfn.resolve()
    index = next(
        (
            int(link.name.removeprefix("virtfn"))
            for link in pf_dir.glob("virtfn*")
            if link.resolve().name == vf_pci
        ),
        None,
    )
    if index is None:
        raise DeviceError(f"PF {pf_dir.name} lists no virtfn pointing at {vf_pci}")
    pf_names = (
        sorted(p.name for p in (pf_dir / "net").glob("*")) if (pf_dir / "net").is_dir() else []
    )
    if not pf_names:
        raise DeviceError(f"PF {pf_dir.name} of VF {vf_pci} has no netdev")
    return pf_names[0], index
