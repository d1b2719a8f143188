"""Tell the hosts on a link that an address now lives behind this node's MAC: gratuitous ARP
for IPv4, an unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) for IPv6.

Hosts that already have the address in their neighbour cache (the clients of a workload that
just moved here) update it at once instead of waiting for the old entry to go stale."""

from __future__ import annotations

import ipaddress
import socket
import struct

from netclaim_agent import netlink
from netclaim_agent.errors import DeviceError
from netclaim_agent.linknames import require_ifname

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
REPEAT = 2
"""Frames per announcement: one lost frame must not leave the clients on the old node."""

ND_NEIGHBOR_ADVERT = 136
NA_ROUTER = 0x80000000
"""Set because the announcing node forwards (as the kernel sets it for its own addresses)."""
NA_OVERRIDE = 0x20000000
"""Without it, receivers keep the MAC they have cached: the whole point is to replace it."""
ND_OPT_TARGET_LL_ADDR = 2
ALL_NODES = "ff02::1"
ND_HOP_LIMIT = 255
"""Receivers drop neighbour discovery that crossed a router (RFC 4861 §7.1.2)."""


def arp_announcement(mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    """An Ethernet broadcast ARP request whose sender and target are both `address`."""
    ip = address.packed
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip, b"\x00" * 6, ip)
    return BROADCAST + mac + struct.pack("!H", ETH_P_ARP) + arp


def neighbour_advertisement(mac: bytes, address: ipaddress.IPv6Address) -> bytes:
    """The ICMPv6 message (the kernel fills in the checksum): `address` is at `mac`."""
    return struct.pack(
        "!BBHI16sBB6s",
        ND_NEIGHBOR_ADVERT,
        0,
        0,
        NA_ROUTER | NA_OVERRIDE,
        address.packed,
        ND_OPT_TARGET_LL_ADDR,
        1,  # option length in units of 8 bytes
        mac,
    )


def announce(ifname: str, address: str) -> None:
    """Announce `address` on `ifname` with this link's MAC, by the address's family."""
    require_ifname(ifname)
    ip = ipaddress.ip_address(address)
    info = netlink.link_info(ifname)
    if info is None or not info.mac:
        raise DeviceError(f"no link {ifname!r} with a MAC address to announce {address} on")
    mac = bytes.fromhex(info.mac.replace(":", ""))
    if isinstance(ip, ipaddress.IPv4Address):
        _send_arp(ifname, arp_announcement(mac, ip))
    else:
        _send_na(ifname, info.index, neighbour_advertisement(mac, ip))


def _send_arp(ifname: str, frame: bytes) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((ifname, ETH_P_ARP))
        for _ in range(REPEAT):
            sock.send(frame)


def _send_na(ifname: str, index: int, message: bytes) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ND_HOP_LIMIT)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        for _ in range(REPEAT):
            sock.sendto(message, (ALL_NODES, 0, 0, index))
