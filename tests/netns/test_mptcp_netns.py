"""MPTCP settings from a claim, applied in the pod netns by the NRI path, and what they buy:
a connection that survives losing the path it started on."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agent_testdata import network_config, opaque
from driver_harness import Harness
from mptcp_stream import stream_across_cut
from netns_helpers import NETNS_DIR, ip

from netclaim_agent import mptcp
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice

pytestmark = pytest.mark.netns

VETH = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=8)


def mptcp_config(name: str, *addresses: str, **section: Any) -> dict[str, Any]:
    return {**network_config(name=name, addresses=list(addresses)), "mptcp": section}


def test_claim_mptcp_settings_reach_the_pod(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str]
) -> None:
    harness = harness_for(Injection.NRI, {"veth": VETH})
    pod = make_netns()
    ip("netns", "exec", pod, "sysctl", "-q", "-w", "net.mptcp.enabled=0")
    config = mptcp_config(
        "net1",
        "10.250.0.2/24",
        "10.250.0.3/24",
        enabled=True,
        limits={"subflows": 3, "addAddrAccepted": 2},
        endpoints=[
            {"address": "10.250.0.2", "flags": ["signal"]},
            {"address": "10.250.0.3", "flags": ["subflow", "backup"]},
        ],
    )
    ref, result = harness.prepare([("net", "veth")], [opaque(config)])
    assert result.error is None, result.error

    for _ in range(2):  # a retried hook must be harmless
        harness.driver.attach_pod("pod-1", str(NETNS_DIR / pod))
        assert mptcp.endpoints(str(NETNS_DIR / pod)) == [("10.250.0.2", 1), ("10.250.0.3", 6)]
    limits = ip("mptcp", "limits", "show", netns=pod)
    assert "subflows 3" in limits and "add_addr_accepted 2" in limits, limits
    enabled = ip("netns", "exec", pod, "sysctl", "-n", "net.mptcp.enabled").strip()
    assert enabled == "1"

    harness.driver.detach_pod("pod-1", str(NETNS_DIR / pod))
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()


@pytest.fixture
def two_paths(make_netns: Callable[[], str]) -> Iterator[tuple[str, list[str]]]:
    """A client netns with two links, each the wire peer of a host NIC stand-in."""
    client = make_netns()
    tag = secrets.token_hex(2)
    nics = []
    for path in (1, 2):
        nic, peer = f"nctest{tag}n{path}", f"nctest{tag}c{path}"
        ip("link", "add", nic, "type", "veth", "peer", "name", peer, "netns", client)
        ip("link", "set", nic, "up")
        ip("addr", "add", f"198.18.{path}.1/24", "dev", peer, netns=client)
        ip("link", "set", peer, "up", netns=client)
        nics.append(nic)
    ip("mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "2", netns=client)
    yield client, nics
    for nic in nics:
        subprocess.run(["ip", "link", "del", nic], capture_output=True, timeout=10, check=False)


def test_an_mptcp_connection_survives_losing_its_first_path(
    harness_for: Callable[..., Harness],
    make_netns: Callable[[], str],
    two_paths: tuple[str, list[str]],
) -> None:
    client, nics = two_paths
    inventory = {
        f"macvlan-{nic}": InventoryDevice(
            name=f"macvlan-{nic}", kind=DeviceKind.MACVLAN, ifname=nic, slots=4
        )
        for nic in nics
    }
    harness = harness_for(Injection.NRI, inventory)
    server = make_netns()
    first, first_result = harness.prepare(
        [("a", f"macvlan-{nics[0]}")],
        [opaque(network_config(name="path1", addresses=["198.18.1.2/24"]))],
    )
    # The second path is announced to the client (signal); both ends allow two subflows.
    second, second_result = harness.prepare(
        [("b", f"macvlan-{nics[1]}")],
        [
            opaque(
                mptcp_config(
                    "path2",
                    "198.18.2.2/24",
                    limits={"subflows": 2, "addAddrAccepted": 2},
                    endpoints=[{"flags": ["signal"]}],
                )
            )
        ],
    )
    assert first_result.error is None and second_result.error is None
    harness.driver.attach_pod("pod-1", str(NETNS_DIR / server))

    joined: list[str] = []

    def cut() -> None:
        joined.append(ip("-j", "mptcp", "endpoint", "show", netns=server))
        ip("link", "del", nics[0])  # path 1 gone on both sides, mid-stream

    delivery = stream_across_cut(
        ["ip", "netns", "exec", server], ["ip", "netns", "exec", client], "198.18.1.2", cut
    )
    assert (delivery.received, delivery.leftover) == (delivery.sent, 0), "every byte, in order"
    assert delivery.sent > 0 and "198.18.2.2" in joined[0]

    harness.driver.detach_pod("pod-1", str(NETNS_DIR / server))
    assert harness.driver.unprepare([first, second]) == {first.uid: None, second.uid: None}
    harness.assert_clean()
