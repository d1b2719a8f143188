"""What the kernel accepts as an interface name or MAC address, checked before netlink sees it.

Kept apart from `netlink` so config validation does not need pyroute2.
"""

from __future__ import annotations

import re

from netclaim_agent.errors import DeviceError

IFNAME_MAX_BYTES = 15
"""IFNAMSIZ (16) minus the terminating NUL."""
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def ifname_problem(name: str) -> str | None:
    """Why `name` cannot be a Linux interface name, or None when it can."""
    if not name:
        return "must not be empty"
    if len(name.encode()) > IFNAME_MAX_BYTES:
        return f"must be at most {IFNAME_MAX_BYTES} bytes, got {len(name.encode())}"
    if name in {".", ".."}:
        return "must not be '.' or '..'"
    if "/" in name or ":" in name:
        return "must not contain '/' or ':'"
    if any(ch.isspace() for ch in name) or not name.isprintable():
        return "must not contain whitespace or control characters"
    return None


def mac_problem(mac: str) -> str | None:
    """Why `mac` cannot be assigned to an interface, or None when it can."""
    if not _MAC.match(mac.lower()):
        return "must be six colon-separated hex octets, e.g. 02:00:00:00:00:01"
    if int(mac[:2], 16) & 1:
        return "must be a unicast address (lowest bit of the first octet clear)"
    if mac.lower() == "00:00:00:00:00:00":
        return "must not be all zeros"
    return None


def require_ifname(name: str) -> str:
    """`name` if the kernel accepts it, else DeviceError saying why."""
    problem = ifname_problem(name)
    if problem:
        raise DeviceError(f"interface name {name!r} {problem}")
    return name


def require_mac(mac: str) -> str:
    """`mac` in lower case if it can be assigned, else DeviceError saying why."""
    problem = mac_problem(mac)
    if problem:
        raise DeviceError(f"MAC address {mac!r} {problem}")
    return mac.lower()
