"""Builders for ResourceClaim JSON and configs, shared by the unit and netns agent tests."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.fip.pools import FLOATING_IP
from netclaim_agent.model import ClaimRef

POOL = "node-a"


def fip_result(address: str, pool: str = "nctest") -> dict[str, str]:
    """An allocation result for the floating IP `address` of FloatingIPPool `pool`."""
    device = FLOATING_IP.device_name(ipaddress.ip_address(address))
    return {
        "request": "fip",
        "driver": DRIVER_NAME,
        "pool": f"floating-ip/{pool}",
        "device": device,
    }


def network_config(device: Mapping[str, Any] | None = None, **interface: Any) -> dict[str, Any]:
    """A NetworkConfig document; keyword arguments go into the `interface` section."""
    document: dict[str, Any] = {"apiVersion": "netclaim.io/v1alpha1", "kind": "NetworkConfig"}
    if device:
        document["device"] = dict(device)
    if interface:
        document["interface"] = interface
    return document


def opaque(
    parameters: Any,
    *,
    source: str = "FromClaim",
    requests: Sequence[str] = (),
    driver: str = DRIVER_NAME,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "source": source,
        "opaque": {"driver": driver, "parameters": parameters},
    }
    if requests:
        entry["requests"] = list(requests)
    return entry


def claim(
    devices: Sequence[tuple[str, str]],
    configs: Sequence[Mapping[str, Any]] = (),
    *,
    pod_uid: str = "pod-1",
    uid: str | None = None,
    name: str = "claim",
    extra_results: Sequence[Mapping[str, Any]] = (),
) -> tuple[ClaimRef, dict[str, Any]]:
    """(ref, claim JSON) with one allocation result per (request, device) pair."""
    uid = uid or str(uuid.uuid4())
    results = [
        {"request": request, "driver": DRIVER_NAME, "pool": POOL, "device": device}
        for request, device in devices
    ]
    body = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"namespace": "default", "name": name, "uid": uid},
        "status": {
            "allocation": {
                "devices": {"results": results + list(extra_results), "config": list(configs)}
            },
            "reservedFor": [{"resource": "pods", "name": "pod", "uid": pod_uid}],
        },
    }
    return ClaimRef(namespace="default", name=name, uid=uid), body


def build_fake_sysfs(root: Path) -> Path:
    """A sysfs tree with one RDMA device (mlx5_0) and one PF (0000:03:00.0) with two VFs."""
    ib = root / "class/infiniband/mlx5_0/device"
    for sub, name, number in (
        ("infiniband_verbs", "uverbs0", "231:192"),
        ("infiniband_mad", "umad0", "231:0"),
    ):
        (ib / sub / name).mkdir(parents=True)
        (ib / sub / name / "dev").write_text(number + "\n")
    (root / "class/misc/rdma_cm").mkdir(parents=True)
    (root / "class/misc/rdma_cm/dev").write_text("10:58\n")
    pci = root / "bus/pci/devices"
    pf = pci / "0000:03:00.0"
    (pf / "net/nctestpf0").mkdir(parents=True)
    for index in range(2):
        vf = pci / f"0000:03:00.{index + 1}"
        vf.mkdir(parents=True)
        (vf / "physfn").symlink_to(pf)
        (pf / f"virtfn{index}").symlink_to(vf)
    return root
