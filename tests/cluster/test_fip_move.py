"""A floating IP follows its workload from node 1 to node 2.

A client sits on the test bridge with the nodes; the "fabric" is the client's route to the
FIP, replaced by the test where a routing daemon would (announce mode hostRoute). The claim is
standalone and pinned to its address by CEL, so the pod that replaces the old one on the other
node gets the same address."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agent_process import AgentProcess
from kube import Kube, busybox_pod
from workload import fip_claim, on_node2, wait_gone

from netclaim_agent.fip.pool_publisher import PoolPublisher
from testbed import extra_node

FIP = "198.51.100.17"
PORT = 8080
CLIENT_IP = "198.18.250.100"


@pytest.fixture
def injection() -> str:
    return "nri"  # floating IPs need the RunPodSandbox hook


@pytest.fixture
def client() -> Iterator[str]:
    """A netns on the test bridge, like a host elsewhere on the nodes' network."""
    ns = f"nctestcl{secrets.token_hex(2)}"
    host_end = f"nctestcl{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(
        ["ip", "link", "add", host_end, "type", "veth", "peer", "c0", "netns", ns], check=True
    )
    subprocess.run(["ip", "link", "set", host_end, "master", extra_node.BRIDGE, "up"], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", f"{CLIENT_IP}/24", "dev", "c0"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "c0", "up"], check=True)
    yield ns
    subprocess.run(["ip", "link", "del", host_end], check=False, capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def server_pod(name: str, namespace: str, node: str, answer: str) -> dict[str, Any]:
    pod = busybox_pod(
        name,
        namespace,
        resourceClaims=[{"name": "fip", "resourceClaimName": "fip"}],
        container={
            "command": [
                "sh",
                "-c",
                f"while true; do echo {answer} | nc -l -p {PORT}; done",
            ]
        },
    )
    return on_node2(pod, node)


def route_fip_via(client: str, gateway: str) -> None:
    """What BGP would do in a real fabric: send the FIP to the node that announces it."""
    subprocess.run(
        ["ip", "-n", client, "route", "replace", f"{FIP}/32", "via", gateway], check=True
    )


def ask(client: str) -> str:
    code = (
        "import socket\n"
        f"s = socket.create_connection(('{FIP}', {PORT}), timeout=2)\n"
        "print(s.recv(64).decode().strip())\n"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", client, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


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
    assert kube.wait_for("the FIP answers from node 1", lambda: ask(client) == "A", 30)

    started = time.monotonic()
    kube.delete("v1", "Pod", "on-a", namespace)
    wait_gone(kube, "Pod", "on-a", namespace)
    withdrawn = time.monotonic()
    kube.create(server_pod("on-b", namespace, node2, "B"))
    kube.wait_pod_running("on-b", namespace)
    route_fip_via(client, extra_node.address(2))
    assert kube.wait_for("the FIP answers from node 2", lambda: ask(client) == "B", 30)
    print(
        f"FIP move: old pod gone after {withdrawn - started:.2f} s, "
        f"answering on node 2 after {time.monotonic() - started:.2f} s"
    )
