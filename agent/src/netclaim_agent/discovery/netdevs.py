"""Netdevs from rtnetlink, and which of them may be lent to pods or parent virtual links."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netclaim_agent import netlink

ARPHRD_ETHER = 1
IFF_LOOPBACK = 0x8

AGENT_PREFIXES = ("nc", "nt", "veth")
"""The agent's own temporary and host-end links (`nc…`, `nt…`) and CNI pod veths (`veth…`)."""

LENDABLE_KINDS = frozenset({None, "veth", "vlan"})
"""Link kinds that may stand for a NIC: none (a physical driver's netdev), VLANs on one, and
veth pairs kept inside this netns (test stand-ins). Every other kind is plumbing someone else
relies on: bridges and bonds, overlay tunnels (flannel's vxlan), kube-proxy's dummy, taps."""


@dataclass(frozen=True)
class Link:
    """What discovery needs from one RTM_NEWLINK message."""

    index: int
    name: str
    link_type: int
    kind: str | None
    mac: str | None
    mtu: int
    master: int | None
    loopback: bool
    peer_elsewhere: bool = False
    """The link's peer or lower device is in another netns (a pod's veth, for example)."""


def _link(msg: Any) -> Link:
    info = msg.get("IFLA_LINKINFO")
    return Link(
        index=int(msg["index"]),
        name=str(msg.get("IFLA_IFNAME")),
        link_type=int(msg["ifi_type"]),
        kind=info.get("IFLA_INFO_KIND") if info else None,
        mac=msg.get("IFLA_ADDRESS"),
        mtu=int(msg.get("IFLA_MTU") or 0),
        master=msg.get("IFLA_MASTER") or None,
        loopback=bool(msg["flags"] & IFF_LOOPBACK),
        peer_elsewhere=msg.get("IFLA_LINK_NETNSID") is not None,
    )


def dump_links() -> list[Link]:
    """Every link of the calling thread's netns."""
    with netlink.handle() as ipr:
        return [_link(msg) for msg in netlink.retry_dump(ipr.get_links)]


def agent_owned(ifname: str) -> bool:
    return ifname.startswith(AGENT_PREFIXES)


def lendable(links: list[Link], protected: frozenset[str]) -> Iterator[Link]:
    """Ethernet NICs that are no uplink, no port of a bridge or bond, nor the agent's or a pod's."""
    for link in links:
        if (
            link.link_type == ARPHRD_ETHER
            and not link.loopback
            and link.master is None
            and link.kind in LENDABLE_KINDS
            and not link.peer_elsewhere
            and link.name not in protected
            and not agent_owned(link.name)
        ):
            yield link
