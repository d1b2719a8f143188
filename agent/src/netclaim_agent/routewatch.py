"""Has a default route of the host changed since we last looked?

The default-route guard needs the set of uplinks before every host-side change. Dumping every
route each time costs milliseconds per call on a node with many pods (each veth host end brings
IPv6 link-local and multicast routes), which would land in the runtime's hook. The kernel
multicasts route changes on rtnetlink groups; only those for a default route (prefix length 0)
can change the answer. (IPv4 flushes routes of a deleted link without a message: the cached
set then keeps a stale index, which only makes the guard stricter.)
"""

from __future__ import annotations

import errno
import socket
import struct
import threading

RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
_NLMSGHDR = struct.Struct("=IHHII")
_RTMSG_DST_LEN = _NLMSGHDR.size + 1  # rtmsg: family, dst_len, ...
_RECV_BYTES = 65536
_MAX_DRAIN = 10_000  # messages per look; a flood past this counts as "changed"


class RouteChanges:
    """A non-blocking rtnetlink subscription, opened on first use in the caller's netns.

    Use it only from the host netns (the first call fixes which netns it watches)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def changed(self) -> bool:
        """True if a default route may have changed since the previous call (and on the first)."""
        with self._lock:
            if self._sock is None:
                self._sock = self._open()
                return True
            return self._drain(self._sock)

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    @staticmethod
    def _open() -> socket.socket:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        sock.bind((0, RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE))
        sock.setblocking(False)
        return sock

    @staticmethod
    def _drain(sock: socket.socket) -> bool:
        changed = False
        for _ in range(_MAX_DRAIN):
            try:
                data = sock.recv(_RECV_BYTES)
            except BlockingIOError:
                return changed
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:  # the kernel dropped some: assume anything
                    changed = True
                    continue
                raise
            changed = changed or not data or touches_default_route(data)
        return True


def touches_default_route(data: bytes) -> bool:
    """Does this batch of rtnetlink messages add or delete a route with prefix length 0?"""
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size:
            return True  # malformed: do not trust the cache
        is_route = kind in (RTM_NEWROUTE, RTM_DELROUTE)
        if is_route and (
            offset + _RTMSG_DST_LEN >= len(data) or data[offset + _RTMSG_DST_LEN] == 0
        ):
            return True
        offset += (length + 3) & ~3
    return False
