"""A floating IP follows its workload from node 1 to node 2.

A client sits on the test bridge with the nodes; the "fabric" is the client's route to the
FIP, replaced by the test where a routing daemon would (announce mode hostRoute). The claim is
standalone and pinned to its address by CEL, so the pod that replaces the old one on the other
node gets the same address."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from agent_process import AgentProcess
from fip_workload import ask, server_pod
from kube import Kube
from workload import fip_claim, wait_gone

from netclaim_agent.fip.pool_publisher import PoolPublisher
from testbed import extra_node

FIP = "198.51.100.17"


@pytest.fixture
def injection() -> str:
    return "nri"  # floating IPs need the RunPodSandbox hook


def route_fip_via(client: str, gateway: str) -> None:
    """What BGP would do in a real fabric: send the FIP to the node that announces it."""
    subprocess.run(
        ["ip", "-n", client, "route", "replace", f"{FIP}/32", "via", gateway], check=True
    )


def test_the_floating_ip_answers_on_the_node_the_workload_moved_to(
    kube: Kube,
    node2: str,
    agent: AgentProcess,
    node2_agent: AgentProcess,
    namespace: str,
    make_pool: Any,
    publisher: PoolPublisher,
    fip_class: str,
    client: str,
) -> None:
    pool = make_pool("198.51.100.16/29")
    assert next(o for o in publisher.reconcile_all() if o.name == pool).ready
    kube.create(fip_claim("fip", namespace, fip_class, ip=FIP))

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
