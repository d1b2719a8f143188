"""NRI injection on the real node: what only a RunPodSandbox hook can give a pod.

The interface lives in the pod sandbox's network namespace, configured before any container
starts, so containers that restart or run side by side all see the same interface, routes are
kept, and a lent host device goes home when the sandbox stops. Restarting the agent or
containerd while pods run loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from agent_process import AgentProcess
from kube import Kube, container_pid, kubectl_exec, netns_exec, sandbox_pid
from workload import (
    claim_pod,
    claim_spec,
    host_links,
    net_config,
    our_links,
    pod_interface,
    wait_gone,
)

from testbed import node, procs
from testbed.layout import default_layout


@pytest.fixture
def injection() -> str:
    """Every test here is about NRI; the CDI mode cannot do any of it."""
    return "nri"


@pytest.fixture
def kubectl(kubeconfig: str) -> Iterator[tuple[str, str]]:
    yield str(default_layout().bin / "kubectl"), kubeconfig


def _addresses(link: dict[str, Any]) -> set[tuple[str, int]]:
    return {(a["local"], a["prefixlen"]) for a in link["addr_info"]}


def _identity(link: dict[str, Any]) -> tuple[str, str, set[tuple[str, int]]]:
    """What must not change across container restarts: name, MAC and addresses."""
    return link["ifname"], link["address"].lower(), _addresses(link)


def _veth_claim(
    kube: Kube, namespace: str, claim: str, classes: dict[str, str], **iface: Any
) -> None:
    config = net_config("veth", "net1", 1400, iface.pop("address"))
    config["interface"].update(iface)
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": claim, "namespace": namespace},
            "spec": claim_spec(classes["veth"], config),
        }
    )


def _host_device_claim(
    kube: Kube, namespace: str, name: str, classes: dict[str, str], nic: str, address: str
) -> None:
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": claim_spec(
                classes["host-device"],
                net_config("host-device", "hd0", 1400, address),
                f'device.attributes["netclaim.io"].ifName == "{nic}"',
            ),
        }
    )


def _link_mtu(name: str) -> int:
    out = subprocess.run(
        ["ip", "-j", "link", "show", name], capture_output=True, text=True, check=True
    ).stdout
    return int(json.loads(out)[0]["mtu"])


def _restart_count(kube: Kube, name: str, namespace: str) -> int:
    pod = kube.get("v1", "Pod", name, namespace) or {}
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def _ready_again(kube: Kube, name: str, namespace: str, restarts: int) -> dict[str, Any] | None:
    pod = kube.get("v1", "Pod", name, namespace)
    if pod is None or _restart_count(kube, name, namespace) < restarts:
        return None
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return pod if statuses and all(s.get("ready") for s in statuses) else None


def test_a_restarted_container_keeps_the_interface(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    containerd_socket: str,
    ctr: str,
    kubectl: tuple[str, str],
) -> None:
    _veth_claim(kube, namespace, "keep", device_classes, address="10.99.5.10/24")
    kube.create(claim_pod("keep-pod", namespace, {"resourceClaimName": "keep"}))
    pod = kube.wait_pod_running("keep-pod", namespace)
    before = _identity(pod_interface(pod, containerd_socket, ctr, "net1"))

    os.kill(container_pid(pod, "main", containerd_socket, ctr), signal.SIGKILL)
    pod = kube.wait_for(
        "container main restarted and ready",
        lambda: _ready_again(kube, "keep-pod", namespace, 1),
        timeout=90,
    )

    assert _identity(pod_interface(pod, containerd_socket, ctr, "net1")) == before
    inside = kubectl_exec(*kubectl, pod, "main", "ip", "-o", "-4", "addr", "show", "net1")
    assert "10.99.5.10/24" in inside, inside


def test_every_container_of_a_pod_sees_the_interface(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    kubectl: tuple[str, str],
) -> None:
    _veth_claim(kube, namespace, "both", device_classes, address="10.99.6.10/24")
    pod_spec = claim_pod("both-pod", namespace, {"resourceClaimName": "both"})
    first = pod_spec["spec"]["containers"][0]
    # The second container does not list the claim: with NRI it needs no CDI edits.
    pod_spec["spec"]["containers"].append(
        {k: v for k, v in first.items() if k != "resources"} | {"name": "side"}
    )
    kube.create(pod_spec)
    pod = kube.wait_pod_running("both-pod", namespace)

    seen = {
        container: kubectl_exec(*kubectl, pod, container, "cat", "/sys/class/net/net1/address")
        for container in ("main", "side")
    }
    assert seen["main"].strip() and seen["main"] == seen["side"], seen


def test_routes_from_the_claim_are_in_the_pod(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    containerd_socket: str,
    ctr: str,
) -> None:
    routes = [
        {"to": "10.100.0.0/16", "via": "10.99.7.1"},
        {"to": "10.101.0.0/16", "via": "10.99.7.254", "table": 100},
        {"to": "10.102.0.0/24"},
    ]
    _veth_claim(kube, namespace, "routed", device_classes, address="10.99.7.10/24", routes=routes)
    kube.create(claim_pod("routed-pod", namespace, {"resourceClaimName": "routed"}))
    pod = kube.wait_pod_running("routed-pod", namespace)
    pid = sandbox_pid(pod, containerd_socket, ctr)

    def table(*which: str) -> dict[str, dict[str, Any]]:
        out = netns_exec(pid, "ip", "-j", "-4", "route", "show", *which)
        return {r["dst"]: r for r in json.loads(out)}

    main = table()
    assert main["10.100.0.0/16"]["gateway"] == "10.99.7.1"
    assert main["10.100.0.0/16"]["dev"] == "net1"
    assert main["10.102.0.0/24"]["dev"] == "net1"
    assert "gateway" not in main["10.102.0.0/24"]
    assert table("table", "100")["10.101.0.0/16"]["gateway"] == "10.99.7.254"
    assert "10.101.0.0/16" not in main


def test_a_host_device_returns_home_when_the_pod_goes(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    standin_nic: str,
    containerd_socket: str,
    ctr: str,
) -> None:
    _host_device_claim(kube, namespace, "lend", device_classes, standin_nic, "10.99.8.10/24")
    kube.create(claim_pod("lend-pod", namespace, {"resourceClaimName": "lend"}))
    pod = kube.wait_pod_running("lend-pod", namespace)

    link = pod_interface(pod, containerd_socket, ctr, "hd0")
    assert link["mtu"] == 1400 and ("10.99.8.10", 24) in _addresses(link)
    assert standin_nic not in host_links()

    kube.delete("v1", "Pod", "lend-pod", namespace)
    wait_gone(kube, "Pod", "lend-pod", namespace)
    # A veth destroyed with the pod's netns would be gone for good: StopPodSandbox must have
    # moved it out first, with its own name and MTU.
    kube.wait_for(f"{standin_nic} back on the host", lambda: standin_nic in host_links(), 30)
    assert _link_mtu(standin_nic) == 1500
    out = subprocess.run(
        ["ip", "-j", "addr", "show", standin_nic], capture_output=True, text=True, check=True
    ).stdout
    assert not json.loads(out)[0]["addr_info"], "the pod's address stayed on the host device"


def test_an_agent_restart_during_the_pods_life_loses_nothing(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    standin_nic: str,
    containerd_socket: str,
    ctr: str,
) -> None:
    links_before = our_links()
    _host_device_claim(kube, namespace, "lend", device_classes, standin_nic, "10.99.9.10/24")
    _veth_claim(kube, namespace, "veth", device_classes, address="10.99.9.20/24")
    pod_spec = claim_pod("restart-pod", namespace, {"resourceClaimName": "lend"})
    pod_spec["spec"]["resourceClaims"].append({"name": "veth", "resourceClaimName": "veth"})
    kube.create(pod_spec)
    pod = kube.wait_pod_running("restart-pod", namespace)
    before = {
        ifname: _identity(pod_interface(pod, containerd_socket, ctr, ifname))
        for ifname in ("hd0", "net1")
    }

    agent.stop()
    agent.start()
    # While the agent was away nothing in the pod changed, and the restarted agent re-learns
    # the sandbox from containerd (Synchronize) without disturbing it.
    assert {
        ifname: _identity(pod_interface(pod, containerd_socket, ctr, ifname))
        for ifname in ("hd0", "net1")
    } == before
    kube.wait_for(
        "the restarted agent re-learned the pod",
        lambda: f"nri Synchronize pod {namespace}/restart-pod" in agent.log_path.read_text(),
        timeout=30,
    )

    kube.delete("v1", "Pod", "restart-pod", namespace)
    wait_gone(kube, "Pod", "restart-pod", namespace)
    kube.wait_for(f"{standin_nic} back on the host", lambda: standin_nic in host_links(), 30)
    kube.wait_for("the pod's veth host ends removed", lambda: our_links() <= links_before, 60)


def test_a_containerd_restart_loses_nothing(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    containerd_socket: str,
    ctr: str,
) -> None:
    """containerd 2.2 sends no StopPodSandbox for sandboxes older than its restart, so a host
    device cannot be given back in a hook then: a physical NIC returns to the host netns with
    the netns and Unprepare renames it (tests/netns, ..._kernel_returned_...); a veth stand-in
    would die with the netns, so this test uses a veth claim only."""
    links_before = our_links()
    _veth_claim(kube, namespace, "old", device_classes, address="10.99.10.10/24")
    kube.create(claim_pod("old-pod", namespace, {"resourceClaimName": "old"}))
    old = kube.wait_pod_running("old-pod", namespace)
    before = _identity(pod_interface(old, containerd_socket, ctr, "net1"))
    configures = agent.log_path.read_text().count("nri configure:")

    layout = default_layout()
    procs.stop(layout, "containerd")
    node.up(layout)

    kube.wait_for(
        "the agent's NRI plugin reconnected to the new containerd",
        lambda: agent.log_path.read_text().count("nri configure:") > configures,
        timeout=60,
    )
    assert _identity(pod_interface(old, containerd_socket, ctr, "net1")) == before
    # A pod started after the restart gets its interface: the hook is live again.
    _veth_claim(kube, namespace, "new", device_classes, address="10.99.10.20/24")
    kube.create(claim_pod("new-pod", namespace, {"resourceClaimName": "new"}))
    new = kube.wait_pod_running("new-pod", namespace)
    assert ("10.99.10.20", 24) in _addresses(pod_interface(new, containerd_socket, ctr, "net1"))
    assert kube.wait_pod_running("old-pod", namespace)["metadata"]["uid"] == old["metadata"]["uid"]

    for name in ("old-pod", "new-pod"):
        kube.delete("v1", "Pod", name, namespace)
    for name in ("old-pod", "new-pod"):
        wait_gone(kube, "Pod", name, namespace)
    kube.wait_for("the pods' veth host ends removed", lambda: our_links() <= links_before, 60)


def _sandbox_failures(kube: Kube, pod: str, namespace: str) -> str:
    events = kube.resource("v1", "Event").get(
        namespace=namespace, field_selector=f"involvedObject.name={pod}"
    )
    return "\n".join(e.message or "" for e in events.items if e.reason == "FailedCreatePodSandBox")


def test_a_failing_hook_fails_the_sandbox_and_says_why(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
) -> None:
    links_before = our_links()
    _veth_claim(kube, namespace, "fine", device_classes, address="10.99.11.10/24")
    # The CNI plugin has already made eth0 in the sandbox when the hook runs.
    _veth_claim(kube, namespace, "clash", device_classes, address="10.99.11.20/24", name="eth0")
    pod_spec = claim_pod("clash-pod", namespace, {"resourceClaimName": "fine"})
    pod_spec["spec"]["resourceClaims"].append({"name": "clash", "resourceClaimName": "clash"})
    kube.create(pod_spec)

    message = kube.wait_for(
        "a FailedCreatePodSandBox event from netclaim",
        lambda: _sandbox_failures(kube, "clash-pod", namespace),
        timeout=90,
    )
    assert f"claim {namespace}/clash" in message and "eth0" in message, message
    assert f"claim {namespace}/fine" not in message, message
    pod = kube.get("v1", "Pod", "clash-pod", namespace)
    assert pod is not None and pod["status"]["phase"] == "Pending"
    assert f"attach claim {namespace}/clash" in agent.log_path.read_text()
    assert f"to pod {namespace}/clash-pod" in agent.log_path.read_text()

    kube.delete("v1", "Pod", "clash-pod", namespace)
    wait_gone(kube, "Pod", "clash-pod", namespace)
    kube.wait_for("nothing of the failed pod left", lambda: our_links() <= links_before, 60)
