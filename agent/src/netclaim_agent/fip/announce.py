"""Gratuitous ARP: tell the hosts on a link that an address now lives behind this node's MAC.

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


def arp_announcement(mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    """An Ethernet broadcast ARP request whose sender and target are both `address`."""
    ip = address.packed
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip, b"\x00" * 6, ip)
    return BROADCAST + mac + struct.pack("!H", ETH_P_ARP) + arp


def gratuitous_arp(ifname: str, address: str) -> None:
    require_ifname(ifname)
    ip = ipaddress.ip_address(address)
    if ip.version != 4:
        raise DeviceError(f"{address}: gratuitous ARP is IPv4 only (IPv6 needs unsolicited NA)")
    info = netlink.link_info(ifname)
    if info is None or not info.mac:
        raise DeviceError(f"no link {ifname!r} with a MAC address to announce {address} on")
    frame = arp_announcement(bytes.fromhex(info.mac.replace(":", "")), ip)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((ifname, ETH_P_ARP))
        for _ in range(REPEAT):
            sock.send(frame)
