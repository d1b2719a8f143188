"""netclaim-agent on the real node: pods get the interfaces their claims describe.

Each test runs in both injection modes: NRI (the agent's RunPodSandbox hook configures the
interface in the pod netns) and CDI (runc moves the pre-built link at container creation)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from agent_process import AgentProcess
from kube import Kube
from workload import (
    DRIVER,
    claim_pod,
    claim_spec,
    host_links,
    net_config,
    our_links,
    pod_interface,
    wait_gone,
    wait_network_data,
)

from testbed.layout import default_layout


def test_template_claim_gives_the_pod_a_veth(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    containerd_socket: str,
    ctr: str,
) -> None:
    before = our_links()
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaimTemplate",
            "metadata": {"name": "veth", "namespace": namespace},
            "spec": {
                "spec": claim_spec(
                    device_classes["veth"], net_config("veth", "net1", 1400, "10.99.1.10/24")
                )
            },
        }
    )
    kube.create(claim_pod("veth-pod", namespace, {"resourceClaimTemplateName": "veth"}))
    pod = kube.wait_pod_running("veth-pod", namespace)

    link = pod_interface(pod, containerd_socket, ctr, "net1")
    assert link["mtu"] == 1400
    assert "UP" in link["flags"]
    assert {(a["local"], a["prefixlen"]) for a in link["addr_info"]} >= {("10.99.1.10", 24)}

    status = wait_network_data(kube, pod, namespace)
    assert status["driver"] == DRIVER
    assert status["networkData"]["interfaceName"] == "net1"
    assert "10.99.1.10/24" in status["networkData"]["ips"]
    assert status["networkData"]["hardwareAddress"].lower() == link["address"].lower()
    assert 'netclaim_dra_node_prepare_resources_total{result="success"} 1.0' in agent.metrics()

    kube.delete("v1", "Pod", "veth-pod", namespace)
    wait_gone(kube, "Pod", "veth-pod", namespace)
    kube.wait_for("host ends of the pod's veth removed", lambda: our_links() <= before, 60)


def test_claim_gives_the_pod_a_macvlan_on_a_standin_nic(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    standin_nic: str,
    containerd_socket: str,
    ctr: str,
) -> None:
    before = our_links()
    selector = f'device.attributes["netclaim.io"].ifName == "{standin_nic}"'
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": "mv", "namespace": namespace},
            "spec": claim_spec(
                device_classes["macvlan"],
                net_config("macvlan", "mv0", 1450, "10.99.2.20/24", mode="bridge"),
                selector,
            ),
        }
    )
    kube.create(claim_pod("mv-pod", namespace, {"resourceClaimName": "mv"}))
    pod = kube.wait_pod_running("mv-pod", namespace)

    link = pod_interface(pod, containerd_socket, ctr, "mv0")
    assert link["mtu"] == 1450
    assert link.get("linkinfo", {}).get("info_kind", "macvlan") == "macvlan"
    assert ("10.99.2.20", 24) in {(a["local"], a["prefixlen"]) for a in link["addr_info"]}

    kube.delete("v1", "Pod", "mv-pod", namespace)
    wait_gone(kube, "Pod", "mv-pod", namespace)
    kube.wait_for("no macvlan left on the host", lambda: our_links() <= before, 60)
    assert standin_nic in host_links()


def _wait_prepared(state_dir: Path, timeout: float = 90) -> None:
    checkpoint = state_dir / "checkpoint.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = checkpoint.read_text()
        except OSError:
            text = ""
        if '"prepared"' in text:
            return
        time.sleep(0.05)
    raise AssertionError("no claim reached phase prepared")


def test_agent_killed_after_prepare_still_yields_a_working_pod(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    containerd_socket: str,
    ctr: str,
) -> None:
    before = our_links()
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": "crash", "namespace": namespace},
            "spec": claim_spec(
                device_classes["veth"], net_config("veth", "net1", 1500, "10.99.3.30/24")
            ),
        }
    )
    kube.create(claim_pod("crash-pod", namespace, {"resourceClaimName": "crash"}))
    _wait_prepared(agent.state_dir)
    agent.kill()
    agent.start()

    pod = kube.wait_pod_running("crash-pod", namespace)

    def configured() -> dict[str, Any] | None:
        try:
            return pod_interface(pod, containerd_socket, ctr, "net1")
        except subprocess.CalledProcessError:
            return None

    link = kube.wait_for("net1 configured in the pod after the agent restart", configured, 60)
    assert ("10.99.3.30", 24) in {(a["local"], a["prefixlen"]) for a in link["addr_info"]}

    kube.delete("v1", "Pod", "crash-pod", namespace)
    wait_gone(kube, "Pod", "crash-pod", namespace)
    kube.wait_for("nothing leaked after the crash", lambda: our_links() <= before, 60)


def test_status_is_written_for_a_claim_created_by_kubectl(
    kube: Kube,
    agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    kubeconfig: str,
) -> None:
    """kubectl sends compact JSON; the stored opaque config keeps those exact bytes, which a
    re-encoded full status update would not match (the API server then refuses it)."""
    claim = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": "kubectl-made", "namespace": namespace},
        "spec": claim_spec(
            device_classes["veth"], net_config("veth", "net1", 1400, "10.99.4.4/24")
        ),
    }
    kubectl = [str(default_layout().bin / "kubectl"), "--kubeconfig", kubeconfig]
    subprocess.run(
        [*kubectl, "create", "-f", "-"],
        input=json.dumps(claim, separators=(",", ":")),
        text=True,
        check=True,
        capture_output=True,
    )
    kube.create(claim_pod("kubectl-pod", namespace, {"resourceClaimName": "kubectl-made"}))
    kube.wait_pod_running("kubectl-pod", namespace)

    def reported() -> list[str]:
        stored = kube.get("resource.k8s.io/v1", "ResourceClaim", "kubectl-made", namespace) or {}
        devices = (stored.get("status") or {}).get("devices") or [{}]
        return list((devices[0].get("networkData") or {}).get("ips") or [])

    assert "10.99.4.4/24" in kube.wait_for("networkData of the kubectl-made claim", reported, 30)
