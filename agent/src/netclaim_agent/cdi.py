"""CDI spec files for prepared claims, one pair per claim UID under the CDI dir.

Why two files: a runtime whose CDI library predates 1.1.0 rejects a whole file that says
`cdiVersion: 1.1.0` or carries `netDevices`. So `netclaim.io-<uid>.json` holds env and device
nodes at the lowest version those need, and only CDI-injection claims also get
`netclaim.io-<uid>-net.json` (1.1.0, `netDevices`). Device names carry the claim UID because
runtimes may cache specs and names must never be reused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netclaim_agent import DRIVER_NAME
from netclaim_agent.atomicfile import remove_durably, write_atomic

CDI_KIND = f"{DRIVER_NAME}/net"
DEFAULT_DIR = Path("/var/run/cdi")
BASE_VERSION = "0.5.0"
"""First version with `deviceNodes[].hostPath` and device names that start with a digit."""
NETDEV_VERSION = "1.1.0"
"""First version with `containerEdits.netDevices`."""
NET_SUFFIX = "-net"
_PREFIX = f"{DRIVER_NAME}-"


@dataclass(frozen=True)
class DeviceNode:
    """A character device the container gets, e.g. /dev/infiniband/uverbs0."""

    path: str
    major: int
    minor: int


@dataclass(frozen=True)
class CdiDevice:
    """The container edits for one prepared device."""

    name: str
    env: tuple[str, ...] = ()
    device_nodes: tuple[DeviceNode, ...] = ()
    net_devices: tuple[tuple[str, str], ...] = ()
    """(hostInterfaceName, name in the container) pairs."""

    def ids(self) -> tuple[str, ...]:
        """Fully-qualified CDI IDs kubelet passes to the runtime for this device."""
        base = (qualified(self.name),) if self.env or self.device_nodes else ()
        net = (qualified(self.name + NET_SUFFIX),) if self.net_devices else ()
        return base + net


def qualified(name: str) -> str:
    return f"{CDI_KIND}={name}"


def spec_path(cdi_dir: Path, claim_uid: str, *, net: bool = False) -> Path:
    return cdi_dir / f"{_PREFIX}{claim_uid}{NET_SUFFIX if net else ''}.json"


def base_spec(devices: Iterable[CdiDevice]) -> dict[str, Any] | None:
    """The env/device-node spec, or None when no device needs one."""
    entries = [
        {"name": d.name, "containerEdits": _base_edits(d)}
        for d in devices
        if d.env or d.device_nodes
    ]
    return {"cdiVersion": BASE_VERSION, "kind": CDI_KIND, "devices": entries} if entries else None


def _base_edits(device: CdiDevice) -> dict[str, Any]:
    edits: dict[str, Any] = {}
    if device.env:
        edits["env"] = list(device.env)
    if device.device_nodes:
        edits["deviceNodes"] = [
            {
                "path": node.path,
                "hostPath": node.path,
                "type": "c",
                "major": node.major,
                "minor": node.minor,
                "permissions": "rw",
            }
            for node in device.device_nodes
        ]
    return edits


def net_spec(devices: Iterable[CdiDevice]) -> dict[str, Any] | None:
    """The `netDevices` spec (CDI 1.1.0), or None when no device moves a netdev by CDI."""
    entries = [
        {
            "name": d.name + NET_SUFFIX,
            "containerEdits": {
                "netDevices": [{"hostInterfaceName": h, "name": n} for h, n in d.net_devices]
            },
        }
        for d in devices
        if d.net_devices
    ]
    return {"cdiVersion": NETDEV_VERSION, "kind": CDI_KIND, "devices": entries} if entries else None


def write_claim_specs(cdi_dir: Path, claim_uid: str, devices: Sequence[CdiDevice]) -> None:
    """Write (or remove when empty) both spec files of one claim, each atomically."""
    cdi_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    for net, spec in ((False, base_spec(devices)), (True, net_spec(devices))):
        path = spec_path(cdi_dir, claim_uid, net=net)
        if spec is None:
            remove_durably(path)
        else:
            write_atomic(path, json.dumps(spec, indent=1).encode(), mode=0o644)


def remove_claim_specs(cdi_dir: Path, claim_uid: str) -> None:
    for net in (False, True):
        remove_durably(spec_path(cdi_dir, claim_uid, net=net))


_SPEC_FILE = re.compile(rf"^{re.escape(_PREFIX)}(?P<uid>[0-9a-z-]+?)(?:{NET_SUFFIX})?\.json$")


def claim_uids_with_specs(cdi_dir: Path) -> set[str]:
    """Claim UIDs that have spec files of ours in `cdi_dir` (for reconcile)."""
    if not cdi_dir.is_dir():
        return set()
    found = set()
    for path in cdi_dir.iterdir():
        match = _SPEC_FILE.match(path.name)
        if match:
            found.add(match["uid"])
    return found


def env_name(request: str, suffix: str) -> str:
    """An env var name for a request: `NETCLAIM_<REQUEST>_<SUFFIX>` in [A-Z0-9_]."""
    return "NETCLAIM_" + re.sub(r"[^A-Z0-9]", "_", f"{request}_{suffix}".upper())
