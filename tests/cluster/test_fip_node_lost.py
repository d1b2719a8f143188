"""A node that stops answering while it holds a floating IP: the controller names the stranded
address; a replacement pod elsewhere may share the standalone claim (the scheduler allows it),
but its node's agent refuses to prepare the address while the lost node's pod holds it, so no
second node ever answers for the address."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from agent_process import AgentProcess
from kube import Kube, busybox_pod
from workload import on_node2

from netclaim_agent.fip.pool_publisher import PoolPublisher
from testbed import extra_node, probes, procs
from testbed.layout import default_layout

FIP = "198.51.100.25"


@pytest.fixture
def injection() -> str:
    return "nri"  # floating IPs need the RunPodSandbox hook


def fip_pod(name: str, namespace: str) -> dict[str, Any]:
    return busybox_pod(
        name, namespace, resourceClaims=[{"name": "fip", "resourceClaimName": "fip"}]
    )


def events_of(kube: Kube, name: str, namespace: str) -> list[dict[str, Any]]:
    events = kube.resource("v1", "Event").get(namespace=namespace).to_dict()["items"]
    return [e for e in events if e["involvedObject"]["name"] == name]


def host_route_to_fip() -> str:
    return subprocess.run(
        ["ip", "route", "show", f"{FIP}/32"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_an_address_on_a_lost_node_is_reported_and_never_answered_twice(
    kube: Kube,
    node2: str,
    agent: AgentProcess,
    node2_agent: AgentProcess,
    namespace: str,
    publisher: PoolPublisher,
    pinned_fip: Callable[..., str],
) -> None:
    layout = default_layout()
    pool = pinned_fip("198.51.100.24/29", FIP)
    kube.create(on_node2(fip_pod("on-b", namespace), node2))
    kube.wait_pod_running("on-b", namespace)

    procs.stop(layout, "node-2-kubelet")
    try:
        lost = time.monotonic()
        kube.wait_for(
            f"{node2} NotReady",
            lambda: not probes.node_ready(layout, node2),
            timeout=120,
            interval=2,
        )
        print(f"{node2} NotReady {time.monotonic() - lost:.0f} s after its kubelet stopped")
        outcome = next(o for o in publisher.reconcile_all() if o.name == pool)
        assert outcome.ready, outcome
        assert f"{FIP} (claim {namespace}/fip, pod {namespace}/on-b on node {node2})" in (
            outcome.message
        ), outcome.message
        status = (kube.get("netclaim.io/v1alpha1", "FloatingIPPool", pool) or {})["status"]
        assert "held on a node that is not Ready" in status["conditions"][0]["message"]

        # The scheduler lets a replacement share the standalone claim; node 1's agent refuses
        # to prepare it while the pod on the lost node holds it, and says why.
        kube.create(fip_pod("on-a", namespace))
        kube.wait_for(
            "a FailedPrepareDynamicResources event naming the holder",
            lambda: any(
                "is still held by pod" in e["message"] and node2 in e["message"]
                for e in events_of(kube, "on-a", namespace)
            ),
            timeout=60,
        )
        pod = kube.get("v1", "Pod", "on-a", namespace) or {}
        assert pod["status"]["phase"] == "Pending", pod["status"]
        assert host_route_to_fip() == "", "node 1 announced an address node 2 still holds"
    finally:
        extra_node.up(layout, 2)  # starts only what is missing: the kubelet
