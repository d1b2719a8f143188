"""pyroute2 helpers: every kernel network change the agent makes goes through here.

Rules kept in one place: each call opens a short-lived handle in `with`; the only errno values
tolerated are named (EEXIST on add, ENODEV on delete); interrupted dumps are retried a bounded
number of times; every name and address is validated before it reaches netlink; the interface
carrying the node's default route (and links stacked on it) is never changed.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkDumpInterrupted, NetlinkError

from netclaim_agent.errors import DeviceError, KernelModuleMissing
from netclaim_agent.linknames import require_ifname, require_mac
from netclaim_agent.routewatch import RouteChanges
from netclaim_agent.threadns import NetnsGone, thread_in_netns

log = logging.getLogger(__name__)

DUMP_ATTEMPTS = 5
RT_SCOPE_LINK = 253
_T = TypeVar("_T")


class LinkNotFound(DeviceError):
    """A link the request needs does not exist (in that netns)."""


@dataclass(frozen=True)
class LinkInfo:
    """What the agent needs to know about one existing link."""

    index: int
    name: str
    mac: str | None
    mtu: int
    up: bool


@dataclass(frozen=True)
class RouteSpec:
    """One route to install on a pod interface; `to` and `via` are already validated."""

    to: str
    via: str | None = None
    table: int | None = None


@contextmanager
def handle(netns: str | None = None) -> Iterator[Any]:
    """A short-lived rtnetlink handle in the host netns (None) or the netns at that path.

    For another netns the calling thread itself enters it for the duration of the block
    (see threadns): the handle must be used in that block and that thread only.
    """
    if netns is None:
        with IPRoute() as ipr:
            yield ipr
        return
    with thread_in_netns(netns), IPRoute() as ipr:
        yield ipr


def retry_dump(dump: Callable[[], Iterable[_T]]) -> list[_T]:
    """Run a dump again when the kernel says it changed underneath (NLM_F_DUMP_INTR).

    The result is read completely inside the retry: pyroute2 may return it lazily.
    """
    for attempt in range(1, DUMP_ATTEMPTS + 1):
        try:
            return list(dump())
        except NetlinkDumpInterrupted:
            log.debug("netlink dump interrupted, attempt %d of %d", attempt, DUMP_ATTEMPTS)
    raise DeviceError(f"netlink dump interrupted {DUMP_ATTEMPTS} times in a row")


def _index(ipr: Any, name: str) -> int | None:
    found: list[int] = retry_dump(lambda: ipr.link_lookup(ifname=name))
    return found[0] if found else None


def _link_info(ipr: Any, index: int) -> LinkInfo:
    msg = retry_dump(lambda: ipr.get_links(index))[0]
    return LinkInfo(
        index=index,
        name=msg.get("IFLA_IFNAME"),
        mac=msg.get("IFLA_ADDRESS"),
        mtu=int(msg.get("IFLA_MTU")),
        up=bool(msg["flags"] & 1),
    )


def link_info(name: str, netns: str | None = None) -> LinkInfo | None:
    """The link called `name` in that netns, or None when there is none."""
    require_ifname(name)
    with handle(netns) as ipr:
        index = _index(ipr, name)
        return None if index is None else _link_info(ipr, index)


def find_link_by_mac(mac: str, netns: str | None = None) -> str | None:
    """Name of a link with this MAC (used when a physical device came back renamed)."""
    wanted = require_mac(mac)
    with handle(netns) as ipr:
        for msg in retry_dump(ipr.get_links):
            if (msg.get("IFLA_ADDRESS") or "").lower() == wanted:
                return str(msg.get("IFLA_IFNAME"))
    return None


class _UplinkCache:
    """The uplink indexes per netns, dumped again only after a default route changed.

    Keyed by the calling thread's netns: the agent works in the host's, but discovery and
    tests may run whole in another one."""

    MAX_NETNS = 8  # more than the agent ever sees; tests churn through namespaces

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_netns: dict[tuple[int, int], tuple[RouteChanges, frozenset[int]]] = {}

    def get(self, ipr: Any) -> frozenset[int]:
        """`ipr` must be a handle in the calling thread's own netns."""
        ns = _THREAD_NETNS.stat()
        key = (ns.st_dev, ns.st_ino)
        with self._lock:
            changes, uplinks = self._by_netns.get(key) or (RouteChanges(), frozenset())
            # Drain first, dump second: a change during the dump is seen on the next call.
            if changes.changed():
                uplinks = frozenset(_dump_uplinks(ipr))
            if key not in self._by_netns and len(self._by_netns) >= self.MAX_NETNS:
                for old, _ in self._by_netns.values():
                    old.close()
                self._by_netns.clear()
            self._by_netns[key] = (changes, uplinks)
            return uplinks


def _dump_uplinks(ipr: Any) -> set[int]:
    """Indexes of the links that carry a default route (IPv4 or IPv6)."""
    uplinks: set[int] = set()
    for family in (2, 10):  # AF_INET, AF_INET6
        for route in retry_dump(partial(ipr.route, "dump", family=family)):
            if route.get("dst_len") == 0:
                uplinks.update(_route_oifs(route))
    return uplinks


_THREAD_NETNS = Path("/proc/thread-self/ns/net")
_UPLINKS = _UplinkCache()


def _uplinks(ipr: Any) -> frozenset[int]:
    return _UPLINKS.get(ipr)


def _carries_uplink(msg: Any, uplinks: frozenset[int]) -> bool:
    """The link is an uplink, or is stacked on one (macvlan, vlan... of it)."""
    lower = msg.get("IFLA_LINK")
    return bool(msg["index"] in uplinks or (lower in uplinks and lower != msg["index"]))


def protected_ifnames() -> frozenset[str]:
    """The default-route interface(s) of the host netns and every link stacked on them."""
    with handle() as ipr:
        uplinks = _uplinks(ipr)
        links = retry_dump(ipr.get_links)
    return frozenset(str(m.get("IFLA_IFNAME")) for m in links if _carries_uplink(m, uplinks))


def uplink_names() -> tuple[str, ...]:
    """The links that carry the host netns' default route(s), by name."""
    with handle() as ipr:
        names = [_link_info(ipr, index).name for index in _uplinks(ipr)]
    return tuple(sorted(names))


NTF_PROXY = 0x08
IFA_F_NODAD = 0x02


def set_proxy_neighbour(address: str, ifname: str, *, present: bool) -> None:
    """`ip neigh add|del proxy <address> dev <ifname>`: the node answers ARP (or NS) for the
    address on that link while a route sends it elsewhere (to the pod)."""
    require_ifname(ifname)
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    with handle() as ipr:
        index = _index(ipr, ifname)
        if index is None:
            if present:
                raise DeviceError(f"no link {ifname!r} to announce {address} on")
            return
        _netlink_call(
            f"{'add' if present else 'delete'} proxy neighbour {address} on {ifname}",
            lambda: ipr.neigh(
                "add" if present else "del",
                dst=str(ip),
                ifindex=index,
                family=family,
                flags=NTF_PROXY,
            ),
            tolerate=errno.EEXIST if present else errno.ENOENT,
        )


def is_protected(name: str) -> bool:
    """Is `name` a default-route interface of the host netns, or stacked on one?"""
    require_ifname(name)
    with handle() as ipr:
        index = _index(ipr, name)
        return index is not None and _on_uplink(ipr, index)


def _on_uplink(ipr: Any, index: int) -> bool:
    return _carries_uplink(retry_dump(lambda: ipr.get_links(index))[0], _uplinks(ipr))


def _route_oifs(route: Any) -> set[int]:
    oifs = {int(route.get("RTA_OIF"))} if route.get("RTA_OIF") else set()
    for hop in route.get("RTA_MULTIPATH") or ():
        oifs.add(int(hop["oif"]))
    return oifs


def _refuse_uplink(ipr: Any, index: int, name: str) -> None:
    """Refuse to touch a host link that protected_ifnames() would name.

    Looks at that one link through the caller's handle (one route dump per family and one
    link get), not at every link: it runs before each host-side change."""
    if _on_uplink(ipr, index):
        raise DeviceError(f"refusing to change {name!r}: it carries the node's default route")


def _lookup(ipr: Any, name: str, netns: str | None) -> int | None:
    """Index of `name`; in the host netns also the default-route check before any change."""
    index = _index(ipr, name)
    if index is not None and netns is None:
        _refuse_uplink(ipr, index, name)
    return index


def _netlink_call(what: str, call: Callable[[], Any], *, tolerate: int | None = None) -> bool:
    """Run one netlink request; True if done, False if it failed with the tolerated errno."""
    try:
        call()
    except NetlinkError as exc:
        if tolerate is not None and exc.code == tolerate:
            return False
        raise DeviceError(f"{what}: {os.strerror(exc.code)} (errno {exc.code})") from exc
    return True


def _add_link(what: str, module: str, call: Callable[[], Any]) -> bool:
    """Create a link; EEXIST is tolerated (a retried step), EOPNOTSUPP names the kernel module."""
    try:
        return _netlink_call(what, call, tolerate=errno.EEXIST)
    except DeviceError as exc:
        cause = exc.__cause__
        if isinstance(cause, NetlinkError) and cause.code == errno.EOPNOTSUPP:
            raise KernelModuleMissing(module) from cause
        raise


def create_veth(name: str, peer: str) -> bool:
    """Create a veth pair in the host netns; False if `name` already existed."""
    require_ifname(name)
    require_ifname(peer)
    with handle() as ipr:
        return _add_link(
            f"create veth {name}/{peer}",
            "veth",
            lambda: ipr.link("add", ifname=name, kind="veth", peer={"ifname": peer}),
        )


def create_stacked(kind: str, name: str, parent: str, mode: str) -> bool:
    """Create a macvlan or ipvlan link on `parent` in the host netns."""
    require_ifname(name)
    require_ifname(parent)
    if kind == "ipvlan":
        mode_attr: dict[str, Any] = {"ipvlan_mode": _IPVLAN_MODES[mode]}
    else:
        mode_attr = {f"{kind}_mode": mode}
    with handle() as ipr:
        # Children of the uplink would share its wire and its fate: checked like a change.
        lower = _lookup(ipr, parent, None)
        if lower is None:
            raise LinkNotFound(f"parent interface {parent!r} not found")
        return _add_link(
            f"create {kind} {name} on {parent}",
            kind,
            lambda: ipr.link("add", ifname=name, kind=kind, link=lower, **mode_attr),
        )


_IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}


def create_dummy(name: str) -> bool:
    """Create a dummy link in the host netns."""
    require_ifname(name)
    with handle() as ipr:
        return _add_link(
            f"create dummy {name}", "dummy", lambda: ipr.link("add", ifname=name, kind="dummy")
        )


def delete_link(name: str, netns: str | None = None) -> bool:
    """Delete a link; False if it was already gone (ENODEV)."""
    require_ifname(name)
    with handle(netns) as ipr:
        index = _lookup(ipr, name, netns)
        if index is None:
            return False
        return _netlink_call(
            f"delete {name}", lambda: ipr.link("del", index=index), tolerate=errno.ENODEV
        )


def move_link(name: str, *, to_netns: str | None, new_name: str, from_netns: str | None) -> None:
    """Move a link (down first) to another netns and rename it in the same request.

    `to_netns=None` means the agent's own (host) netns.
    """
    require_ifname(name)
    require_ifname(new_name)
    try:
        target = os.open(to_netns or "/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise NetnsGone(f"network namespace {to_netns}: {exc.strerror}") from exc
    try:
        with handle(from_netns) as ipr:
            index = _lookup(ipr, name, from_netns)
            if index is None:
                raise LinkNotFound(f"interface {name!r} not found")
            _netlink_call(f"set {name} down", lambda: ipr.link("set", index=index, state="down"))
            _netlink_call(
                f"move {name} as {new_name}",
                lambda: ipr.link("set", index=index, net_ns_fd=target, ifname=new_name),
            )
    finally:
        os.close(target)


def configure_link(
    name: str,
    *,
    netns: str | None = None,
    mtu: int | None = None,
    mac: str | None = None,
    addresses: Sequence[str] = (),
    routes: Sequence[RouteSpec] = (),
    up: bool = False,
) -> None:
    """Set MTU and MAC (while down), add addresses, optionally bring up, then add routes.

    Re-running it is harmless: existing addresses and routes (EEXIST) are kept.
    """
    require_ifname(name)
    interfaces = _interfaces(addresses)
    with handle(netns) as ipr:
        index = _lookup(ipr, name, netns)
        if index is None:
            raise LinkNotFound(f"interface {name!r} not found")
        current = _link_info(ipr, index)
        if mtu is not None and mtu != current.mtu:
            _netlink_call(f"set {name} mtu {mtu}", lambda: ipr.link("set", index=index, mtu=mtu))
        if mac is not None and mac.lower() != (current.mac or "").lower():
            checked = require_mac(mac)
            _netlink_call(
                f"set {name} address {checked}",
                lambda: ipr.link("set", index=index, address=checked),
            )
        for iface in interfaces:
            _netlink_call(
                f"add {iface} to {name}",
                partial(
                    ipr.addr,
                    "add",
                    index=index,
                    address=str(iface.ip),
                    prefixlen=iface.network.prefixlen,
                    # Allocation already made the address unique; duplicate address detection
                    # would only keep an IPv6 address unusable (tentative) for a second or more.
                    flags=IFA_F_NODAD if iface.version == 6 else 0,
                ),
                tolerate=errno.EEXIST,
            )
        if up:
            _netlink_call(f"set {name} up", lambda: ipr.link("set", index=index, state="up"))
        for route in routes:
            _add_route(ipr, index, name, route)


def _interfaces(
    addresses: Sequence[str],
) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    try:
        return [ipaddress.ip_interface(a) for a in addresses]
    except ValueError as exc:
        raise DeviceError(f"invalid address: {exc}") from exc


def _add_route(ipr: Any, index: int, name: str, route: RouteSpec) -> None:
    try:
        dst = ipaddress.ip_network(route.to, strict=False)
        gateway = ipaddress.ip_address(route.via) if route.via else None
    except ValueError as exc:
        raise DeviceError(f"invalid route {route}: {exc}") from exc
    spec: dict[str, Any] = {"dst": str(dst), "oif": index}
    if gateway is not None:
        spec["gateway"] = str(gateway)
    else:  # as `ip route add ... dev`: on-link, and usable as a gateway's route
        spec["scope"] = RT_SCOPE_LINK
    if route.table is not None:
        spec["table"] = route.table
    _netlink_call(
        f"add route {dst} on {name}", lambda: ipr.route("add", **spec), tolerate=errno.EEXIST
    )


def add_source_rule(source: str, table: int, priority: int, netns: str | None = None) -> None:
    """`ip rule add from <source> lookup <table> pref <priority>`; an existing one is kept."""
    [iface] = _interfaces([source])
    family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    with handle(netns) as ipr:
        _netlink_call(
            f"add rule from {iface} table {table}",
            lambda: ipr.rule(
                "add",
                family=family,
                table=table,
                priority=priority,
                src=str(iface.ip),
                src_len=iface.network.prefixlen,
            ),
            tolerate=errno.EEXIST,
        )


def set_link_up(name: str, netns: str | None = None) -> None:
    """Bring a link up."""
    configure_link(name, netns=netns, up=True)


def set_vf(
    pf: str, vf_index: int, *, vlan: int | None, trust: bool | None, spoofchk: bool | None
) -> None:
    """Apply VLAN / trust / spoof-check to one VF through its PF (host netns)."""
    require_ifname(pf)
    settings: dict[str, Any] = {"vf": vf_index}
    if vlan is not None:
        settings["vlan"] = vlan
    if trust is not None:
        settings["trust"] = int(trust)
    if spoofchk is not None:
        settings["spoofchk"] = int(spoofchk)
    if len(settings) == 1:
        return
    with handle() as ipr:
        index = _lookup(ipr, pf, None)
        if index is None:
            raise LinkNotFound(f"physical function {pf!r} not found")
        _netlink_call(
            f"configure VF {vf_index} of {pf}", lambda: ipr.link("set", index=index, vf=settings)
        )


def rename_link(name: str, new_name: str, netns: str | None = None) -> None:
    """Rename a link (taken down first: the kernel refuses to rename a running link)."""
    require_ifname(name)
    require_ifname(new_name)
    with handle(netns) as ipr:
        index = _lookup(ipr, name, netns)
        if index is None:
            raise LinkNotFound(f"interface {name!r} not found")
        _netlink_call(f"set {name} down", lambda: ipr.link("set", index=index, state="down"))
        _netlink_call(
            f"rename {name} to {new_name}", lambda: ipr.link("set", index=index, ifname=new_name)
        )


def remove_addresses(name: str, addresses: Sequence[str], netns: str | None = None) -> None:
    """Remove addresses we added; ones already gone (EADDRNOTAVAIL) are fine."""
    require_ifname(name)
    interfaces = _interfaces(addresses)
    with handle(netns) as ipr:
        index = _lookup(ipr, name, netns)
        if index is None:
            return
        for iface in interfaces:
            _netlink_call(
                f"remove {iface} from {name}",
                partial(
                    ipr.addr,
                    "del",
                    index=index,
                    address=str(iface.ip),
                    prefixlen=iface.network.prefixlen,
                ),
                tolerate=errno.EADDRNOTAVAIL,
            )
