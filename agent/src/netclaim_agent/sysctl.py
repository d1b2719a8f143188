"""Per-interface sysctls (net.<family>.conf.<interface>.<key>) in a given network namespace."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from netclaim_agent.errors import DeviceError
from netclaim_agent.linknames import require_ifname

_KEY = re.compile(r"^ipv[46]\.[a-z_]{1,32}$")
"""Keys reach a /proc path: no dots or slashes beyond the family separator."""


def write_sysctls(name: str, sysctls: Mapping[str, int], netns: str | None = None) -> None:
    """Write per-interface sysctls (keys like `ipv4.rp_filter`) inside the netns.

    /proc/sys/net shows the netns of the reading process, so for a pod netns the write runs
    in a short `nsenter` child rather than switching this process's namespace.
    """
    require_ifname(name)
    for key, value in sysctls.items():
        if not _KEY.match(key):
            raise DeviceError(f"sysctl key {key!r} is not <ipv4|ipv6>.<name>")
        family, leaf = key.split(".", 1)
        path = f"net/{family}/conf/{name}/{leaf}"
        if netns is None:
            _write_proc_sys(path, value)
            continue
        command = ["nsenter", f"--net={netns}", "--", "sysctl", "-q", "-w", f"{path}={value}"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeviceError(f"sysctl {path}={value} in {netns}: {exc}") from exc
        if done.returncode != 0:
            raise DeviceError(f"sysctl {path}={value} in {netns}: {done.stderr.strip()}")


def _write_proc_sys(path: str, value: int) -> None:
    try:
        Path("/proc/sys", path).write_text(str(value), encoding="ascii")
    except OSError as exc:
        raise DeviceError(f"sysctl {path}={value}: {exc.strerror}") from exc
