"""A second node on the same machine: its own netns, kubelet, containerd and netclaim agent,
joined to the local control plane. The floating-IP tests build on it."""

from __future__ import annotations

from typing import Any

from agent_process import AgentProcess
from kube import Kube, busybox_pod, kubectl_exec
from workload import claim_pod, claim_spec, net_config, on_node2, our_links, wait_gone

from testbed import extra_node
from testbed.layout import Layout, default_layout

INDEX = 2  # the `node2` fixture's node


def kubectl(layout: Layout, kubeconfig: str) -> tuple[str, str]:
    return str(layout.bin / "kubectl"), kubeconfig


def test_second_node_runs_pods_in_its_own_network(
    kube: Kube, node2: str, namespace: str, kubeconfig: str
) -> None:
    node = kube.get("v1", "Node", node2)
    assert node is not None
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == extra_node.address(INDEX)
    # (The node lifecycle controller may add not-ready taints for a moment after a join.)
    assert "netclaim.io/extra-node" in [t["key"] for t in node["spec"].get("taints") or []]

    kube.create(on_node2(busybox_pod("there", namespace), node2))
    pod = kube.wait_pod_running("there", namespace)
    assert pod["status"]["podIP"].startswith(f"10.244.{INDEX}.")
    # apiserver -> that node's kubelet (exec) over the test bridge.
    inside = kubectl_exec(
        *kubectl(default_layout(), kubeconfig), pod, "main", "ip", "-o", "-4", "a"
    )
    assert pod["status"]["podIP"] in inside


def test_second_nodes_agent_publishes_and_wires_its_pods(
    kube: Kube,
    node2: str,
    node2_agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    kubeconfig: str,
) -> None:
    def slices() -> list[dict[str, Any]]:
        found = kube.resource("resource.k8s.io/v1", "ResourceSlice").get(
            field_selector=f"spec.nodeName={node2}"
        )
        return [s.to_dict() for s in found.items]

    published = kube.wait_for(f"a ResourceSlice for {node2}", slices, timeout=60)
    assert {s["spec"]["pool"]["name"] for s in published} == {node2}

    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": "n2", "namespace": namespace},
            "spec": claim_spec(
                device_classes["veth"], net_config("veth", "net1", 1400, "10.99.20.10/24")
            ),
        }
    )
    kube.create(on_node2(claim_pod("wired", namespace, {"resourceClaimName": "n2"}), node2))
    pod = kube.wait_pod_running("wired", namespace)
    inside = kubectl_exec(
        *kubectl(default_layout(), kubeconfig),
        pod,
        "main",
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "net1",
    )
    assert "10.99.20.10/24" in inside
    claim = kube.get("resource.k8s.io/v1", "ResourceClaim", "n2", namespace)
    assert claim is not None
    [result] = claim["status"]["allocation"]["devices"]["results"]
    assert result["pool"] == node2

    kube.delete("v1", "Pod", "wired", namespace)
    wait_gone(kube, "Pod", "wired", namespace)
    kube.wait_for(
        "node 2's veth host end removed",
        lambda: not our_links(extra_node.netns(INDEX)),
        timeout=60,
    )
