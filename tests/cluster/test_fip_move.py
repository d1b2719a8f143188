"""A floating IP follows its workload from node 1 to node 2, and a move survives the old node's
agent being killed halfway.

A client sits on the test bridge with the nodes; the "fabric" is the client's route to the
FIP, replaced by the test where a routing daemon would (announce mode hostRoute). The claim is
standalone and pinned to its address by CEL, so the pod that replaces the old one on the other
node gets the same address."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest
from agent_process import AgentProcess
from fip_workload import ask, server_pod
from kube import Kube
from workload import our_links, wait_gone

from testbed import extra_node

FIP = "198.51.100.17"
HELD_BACK_SECONDS = 20.0
"""How long the test watches the replacement wait while the old node cannot unprepare."""


@pytest.fixture
def injection() -> str:
    return "nri"  # floating IPs need the RunPodSandbox hook


def route_fip_via(client: str, gateway: str, fip: str = FIP) -> None:
    """What BGP would do in a real fabric: send the FIP to the node that announces it."""
    subprocess.run(
        ["ip", "-n", client, "route", "replace", f"{fip}/32", "via", gateway], check=True
    )


def node_routes(index: int, fip: str) -> str:
    return subprocess.run(
        ["ip", "-n", extra_node.netns(index), "route", "show", f"{fip}/32"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_floating_ip_answers_on_the_node_the_workload_moved_to(
    kube: Kube,
    node2: str,
    agent: AgentProcess,
    node2_agent: AgentProcess,
    namespace: str,
    pinned_fip: Callable[..., str],
    client: str,
) -> None:
    pinned_fip("198.51.100.16/29", FIP)

    kube.create(server_pod("on-a", namespace, "127.0.0.1", "A"))
    kube.wait_pod_running("on-a", namespace)
    route_fip_via(client, extra_node.BRIDGE_IP)
    assert kube.wait_for("the FIP answers from node 1", lambda: ask(client, FIP) == "A", 30)

    started = time.monotonic()
    kube.delete("v1", "Pod", "on-a", namespace)
    wait_gone(kube, "Pod", "on-a", namespace)
    withdrawn = time.monotonic()
    kube.create(server_pod("on-b", namespace, node2, "B"))
    kube.wait_pod_running("on-b", namespace)
    route_fip_via(client, extra_node.address(2))
    assert kube.wait_for("the FIP answers from node 2", lambda: ask(client, FIP) == "B", 30)
    print(
        f"FIP move: old pod gone after {withdrawn - started:.2f} s, "
        f"answering on node 2 after {time.monotonic() - started:.2f} s"
    )


def test_a_move_completes_once_the_old_nodes_agent_killed_mid_move_is_back(
    kube: Kube,
    node2: str,
    node2_agent: AgentProcess,
    node3: str,
    node3_agent: AgentProcess,
    namespace: str,
    pinned_fip: Callable[..., str],
    client: str,
) -> None:
    fip = "198.51.100.25"
    pinned_fip("198.51.100.24/29", fip)
    kube.create(server_pod("on-2", namespace, node2, "two"))
    kube.wait_pod_running("on-2", namespace)
    route_fip_via(client, extra_node.address(2), fip)
    assert kube.wait_for("the FIP answers from node 2", lambda: ask(client, fip) == "two", 30)

    node2_agent.kill()  # SIGKILL, mid-move: node 2 can no longer unprepare the claim
    kube.delete("v1", "Pod", "on-2", namespace)
    kube.create(server_pod("on-3", namespace, node3, "three"))
    deadline = time.monotonic() + HELD_BACK_SECONDS
    while time.monotonic() < deadline:
        on_3 = kube.get("v1", "Pod", "on-3", namespace) or {}
        assert on_3.get("status", {}).get("phase") != "Running", "node 3 took a held address"
        time.sleep(1)
    assert kube.get("v1", "Pod", "on-2", namespace) is not None, "held by the old pod"

    node2_agent.start()
    back = time.monotonic()
    wait_gone(kube, "Pod", "on-2", namespace)
    assert node_routes(2, fip) == "", "node 2 no longer routes the address"
    left = our_links(extra_node.netns(2))
    assert not left, f"interfaces of the old pod left on node 2: {left}"
    kube.wait_pod_running("on-3", namespace, timeout=120)
    route_fip_via(client, extra_node.address(3), fip)
    assert kube.wait_for("the FIP answers from node 3", lambda: ask(client, fip) == "three", 30)
    print(f"move after an agent kill: answering on node 3 {time.monotonic() - back:.1f} s after")
