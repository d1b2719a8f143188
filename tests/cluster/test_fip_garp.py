"""Announce mode gratuitousARP: the node holding a floating IP answers ARP (IPv6: neighbour
solicitations) for it on its uplink and tells the link when the address arrives (gratuitous
ARP, unsolicited neighbour advertisement), so clients on the nodes' network follow the address
from node 2 to node 3 without any route change. Extra nodes only: announcements never go out on
this machine's real uplink."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest
from agent_process import AgentProcess
from fip_workload import ask, server_pod
from kube import Kube
from workload import wait_gone

from testbed import extra_node

FAMILIES = {
    "ipv4": ("198.18.250.76/30", "198.18.250.77"),
    "ipv6": (f"{extra_node.SUBNET6}74/126", f"{extra_node.SUBNET6}77"),
}
"""Pool and address per family, on the nodes' own subnet, as announcing on the link needs."""


def node_mac(index: int) -> str:
    out = subprocess.run(
        ["ip", "-n", extra_node.netns(index), "-j", "link", "show", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)[0]["address"])


def client_sees(client: str, fip: str) -> str | None:
    out = subprocess.run(
        ["ip", "-n", client, "-j", "neigh", "show", fip],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = json.loads(out)
    return str(found[0].get("lladdr")) if found else None


@pytest.mark.parametrize("family", FAMILIES)
def test_clients_follow_the_address_from_node_2_to_node_3(
    family: str,
    kube: Kube,
    node2: str,
    node2_agent: AgentProcess,
    node3: str,
    node3_agent: AgentProcess,
    namespace: str,
    pinned_fip: Callable[..., str],
    client: str,
) -> None:
    cidr, fip = FAMILIES[family]
    pinned_fip(cidr, fip, announce="gratuitousARP")

    kube.create(server_pod("on-2", namespace, node2, "two"))
    kube.wait_pod_running("on-2", namespace)
    assert kube.wait_for("the FIP answers from node 2", lambda: ask(client, fip) == "two", 30)
    assert client_sees(client, fip) == node_mac(2)

    started = time.monotonic()
    kube.delete("v1", "Pod", "on-2", namespace)
    wait_gone(kube, "Pod", "on-2", namespace)
    kube.create(server_pod("on-3", namespace, node3, "three"))
    kube.wait_pod_running("on-3", namespace)
    # No flush, no route change: the announcement alone moved the client's cache entry.
    assert kube.wait_for(
        "the client's neighbour entry moved", lambda: client_sees(client, fip) == node_mac(3), 10
    )
    assert kube.wait_for("the FIP answers from node 3", lambda: ask(client, fip) == "three", 30)
    print(f"{family} announced move: answering on node 3 after {time.monotonic() - started:.2f} s")
