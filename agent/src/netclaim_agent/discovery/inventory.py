"""The node's device inventory: discovered on demand, kept as a snapshot, refreshed on events."""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pyroute2.netlink import NETLINK_ROUTE
from pyroute2.netlink.rtnl import RTMGRP_LINK

from netclaim_agent import netlink
from netclaim_agent.discovery.build import DEFAULT_SLOTS, discover
from netclaim_agent.discovery.netdevs import dump_links
from netclaim_agent.errors import NetclaimError
from netclaim_agent.model import InventoryDevice
from netclaim_agent.threadns import thread_in_netns

log = logging.getLogger(__name__)

NETNS_DIR = Path("/var/run/netns")
POLL_SECONDS = 0.2
"""How long a watch waits for an event before looking at `stop` again."""
RESYNC_SECONDS = 60.0
"""Rediscover this often even without link events (VFs bound to vfio, RDMA devices)."""
MAX_BACKOFF_SECONDS = 30.0

_T = TypeVar("_T")


def in_netns(netns: str | None, call: Callable[[], _T]) -> _T:
    """Run `call` with the calling thread in `netns` (a name under /var/run/netns or a path).

    Sockets opened by `call` stay bound to `netns` wherever they are used afterwards.
    """
    if netns is None:
        return call()
    with thread_in_netns(netns if "/" in netns else str(NETNS_DIR / netns)):
        return call()


def _link_events_socket() -> socket.socket:
    """A netlink socket subscribed to RTMGRP_LINK; any message on it means "links changed"."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    try:
        sock.bind((0, RTMGRP_LINK))
        sock.settimeout(POLL_SECONDS)
    except OSError:
        sock.close()
        raise
    return sock


class Inventory:
    """Devices of this node (or of `netns`, for tests and benchmarks), safe to read from any
    thread; `get` is the `inventory` callable the Driver takes."""

    def __init__(
        self,
        sysfs_root: Path = Path("/sys"),
        protected: Callable[[], frozenset[str]] = netlink.protected_ifnames,
        netns: str | None = None,
        *,
        slots: int = DEFAULT_SLOTS,
    ) -> None:
        self._sysfs_root = sysfs_root
        self._protected = protected
        self._netns = netns
        self._slots = slots
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._devices: tuple[InventoryDevice, ...] = ()
        self._by_name: dict[str, InventoryDevice] = {}
        self._uplinks: frozenset[str] = frozenset()

    def refresh(self) -> bool:
        """Rediscover; True if the set of devices or any of their attributes changed.

        `protected` runs inside `netns` too, so it names that netns' default-route links.
        """
        with self._refresh_lock:
            links, protected = in_netns(self._netns, lambda: (dump_links(), self._protected()))
            found = discover(links, protected, self._sysfs_root, self._slots)
            with self._lock:
                self._uplinks = protected
                if found == self._devices:
                    return False
                self._devices = found
                self._by_name = {device.name: device for device in found}
        log.info("inventory changed: %d devices", len(found))
        return True

    def devices(self) -> tuple[InventoryDevice, ...]:
        with self._lock:
            return self._devices

    def uplinks(self) -> frozenset[str]:
        """The default-route interfaces (and links on them) discovery left out."""
        with self._lock:
            return self._uplinks

    def get(self, name: str) -> InventoryDevice | None:
        with self._lock:
            return self._by_name.get(name)

    def watch(
        self,
        on_change: Callable[[], None],
        stop: threading.Event,
        min_interval: float = 1.0,
    ) -> None:
        """Refresh on link events and every RESYNC_SECONDS, then call `on_change` if something
        changed. Refreshes run at most once per `min_interval`; events during the wait lead to
        one trailing run. A failing refresh or `on_change` is logged and retried, waiting twice
        as long each time (up to MAX_BACKOFF_SECONDS). Returns within POLL_SECONDS of `stop`
        being set (plus a refresh already under way)."""
        with in_netns(self._netns, _link_events_socket) as sock:
            pending, notify = True, False
            last_run, delay = -float("inf"), min_interval
            while not stop.is_set():
                pending = _wait_for_event(sock) or pending
                now = time.monotonic()
                if now - last_run >= RESYNC_SECONDS:
                    pending = True
                if not pending or now - last_run < delay:
                    continue
                pending, last_run = False, now
                try:
                    notify = self.refresh() or notify
                    if notify:
                        on_change()
                        notify = False
                except Exception as exc:  # keep watching; a later turn tries again
                    delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                    log.warning(
                        "inventory refresh or publish failed, retry in %.0f s: %s",
                        delay,
                        exc,
                        exc_info=not isinstance(exc, NetclaimError),
                    )
                    pending = True
                else:
                    delay = min_interval


def _wait_for_event(sock: socket.socket) -> bool:
    """True if an event (or a lost one: ENOBUFS) arrived within POLL_SECONDS."""
    try:
        sock.recv(65536)
    except TimeoutError:
        return False
    except OSError as exc:
        if exc.errno != errno.ENOBUFS:
            raise
    return True
