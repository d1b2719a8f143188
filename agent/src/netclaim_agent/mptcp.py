"""MPTCP in a pod's network namespace: enable switch, path-manager limits and endpoints.

All of it is per netns, so it is applied by a thread that has entered the pod's netns (see
threadns), through pyroute2's generic-netlink MPTCP family and /proc/sys/net, which both follow
the calling thread's netns.
"""

from __future__ import annotations

import errno
import ipaddress
from pathlib import Path

from pyroute2 import MPTCP
from pyroute2.netlink.exceptions import NetlinkError

from netclaim_agent.errors import DeviceError
from netclaim_agent.model import MPTCP_ENDPOINT_FLAGS, MptcpEndpoint, MptcpSettings
from netclaim_agent.threadns import thread_in_netns

_FLAG_BITS = {name: 1 << bit for bit, name in enumerate(MPTCP_ENDPOINT_FLAGS)}
"""The kernel's MPTCP_PM_ADDR_FLAG_* values: signal 1, subflow 2, backup 4, fullmesh 8."""


def flag_bits(flags: tuple[str, ...]) -> int:
    bits = 0
    for flag in flags:
        if flag not in _FLAG_BITS:
            raise DeviceError(f"unknown MPTCP endpoint flag {flag!r}")
        bits |= _FLAG_BITS[flag]
    return bits


def apply(settings: MptcpSettings, netns: str) -> None:
    """Make the pod's MPTCP state match `settings`; re-applying is harmless."""
    with thread_in_netns(netns):
        if settings.enabled is not None:
            _write_enabled(settings.enabled)
        try:
            with MPTCP() as pm:
                limits = {
                    key: value
                    for key, value in (
                        ("subflows", settings.subflows),
                        ("rcv_add_addrs", settings.add_addr_accepted),
                    )
                    if value is not None
                }
                if limits:
                    pm.limits("set", **limits)
                for endpoint in settings.endpoints:
                    _add_endpoint(pm, endpoint)
        except NetlinkError as exc:
            raise DeviceError(f"MPTCP settings: {exc.args[-1]} (errno {exc.code})") from exc


def _write_enabled(enabled: bool) -> None:
    path = Path("/proc/sys/net/mptcp/enabled")
    try:
        path.write_text("1" if enabled else "0", encoding="ascii")
    except FileNotFoundError:
        raise DeviceError("MPTCP is not available in this kernel (no net.mptcp)") from None
    except OSError as exc:
        raise DeviceError(f"net.mptcp.enabled: {exc.strerror}") from exc


def _add_endpoint(pm: MPTCP, endpoint: MptcpEndpoint) -> None:
    if endpoint.address is None:
        raise DeviceError("MPTCP endpoint without an address in the plan")
    address = ipaddress.ip_address(endpoint.address)
    spec: dict[str, object] = {"flags": flag_bits(endpoint.flags)}
    spec["addr" if address.version == 4 else "addr6"] = str(address)
    if endpoint.port is not None:
        spec["port"] = endpoint.port
    try:
        pm.endpoint("add", **spec)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:  # a retried hook finds its own endpoint
            raise DeviceError(
                f"MPTCP endpoint {address}: {exc.args[-1]} (errno {exc.code})"
            ) from exc


def endpoints(netns: str) -> list[tuple[str, int]]:
    """(address, flag bits) of the netns' endpoints, for checks and tests."""
    with thread_in_netns(netns), MPTCP() as pm:
        found = []
        for msg in pm.endpoint("show"):
            addr = msg.get_nested("MPTCP_PM_ATTR_ADDR")
            if addr is None:
                continue
            text = addr.get("MPTCP_PM_ADDR_ATTR_ADDR4") or addr.get("MPTCP_PM_ADDR_ATTR_ADDR6")
            found.append((str(text), int(addr.get("MPTCP_PM_ADDR_ATTR_FLAGS") or 0)))
        return found
