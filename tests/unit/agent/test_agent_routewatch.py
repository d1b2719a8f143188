"""Parsing of rtnetlink route notifications, from hand-built messages."""

from __future__ import annotations

import struct

from netclaim_agent.routewatch import RTM_DELROUTE, RTM_NEWROUTE, touches_default_route

RTM_NEWLINK = 16


def message(kind: int, dst_len: int = 24) -> bytes:
    rtmsg = struct.pack("=BBBBBBBBI", 2, dst_len, 0, 0, 254, 4, 0, 1, 0)
    body = rtmsg + b"\0" * 3  # a payload whose length is not a multiple of 4
    header = struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0)
    return header + body + b"\0"  # the kernel pads each message to 4 bytes


def test_prefix_routes_and_links_do_not_count() -> None:
    assert not touches_default_route(message(RTM_NEWROUTE) + message(RTM_NEWLINK, 0))


def test_a_default_route_anywhere_in_the_batch_counts() -> None:
    assert touches_default_route(message(RTM_NEWROUTE) + message(RTM_DELROUTE, 0))


def test_truncated_or_malformed_messages_count() -> None:
    assert touches_default_route(message(RTM_NEWROUTE)[:17])
    assert touches_default_route(struct.pack("=IHHII", 4, RTM_NEWROUTE, 0, 0, 0))
