"""Per-interface sysctls (net.<family>.conf.<interface>.<key>) in a given network namespace."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from pathlib import Path

from netclaim_agent.errors import DeviceError
from netclaim_agent.linknames import require_ifname
from netclaim_agent.threadns import thread_in_netns

_KEY = re.compile(r"^ipv[46]\.[a-z_]{1,32}$")
"""Keys reach a /proc path: no dots or slashes beyond the family separator."""


def write_sysctls(name: str, sysctls: Mapping[str, int], netns: str | None = None) -> None:
    """Write per-interface sysctls (keys like `ipv4.rp_filter`) inside the netns.

    /proc/sys/net shows the netns of the calling thread, so for a pod netns this thread enters
    it for the writes (threadns) instead of starting an `nsenter` child per key.
    """
    require_ifname(name)
    paths = {}
    for key, value in sysctls.items():
        if not _KEY.match(key):
            raise DeviceError(f"sysctl key {key!r} is not <ipv4|ipv6>.<name>")
        family, leaf = key.split(".", 1)
        paths[f"net/{family}/conf/{name}/{leaf}"] = value
    with thread_in_netns(netns) if netns is not None else contextlib.nullcontext():
        for path, value in paths.items():
            _write_proc_sys(path, value)


def _write_proc_sys(path: str, value: int) -> None:
    try:
        Path("/proc/sys", path).write_text(str(value), encoding="ascii")
    except OSError as exc:
        raise DeviceError(f"sysctl {path}={value}: {exc.strerror}") from exc


def is_enabled(path: str) -> bool:
    """Is the sysctl at `path` (under /proc/sys, in this thread's netns) set to 1?"""
    try:
        return Path("/proc/sys", path).read_text(encoding="ascii").strip() == "1"
    except OSError:
        return False
