"""The local node is a real Kubernetes node: pods run with CNI networking, and DRA allocates."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess

from kube import Kube, busybox_pod, netns_exec, sandbox_pid

from testbed.layout import NODE_NAME, POD_CIDR, default_layout, versions

SMOKE_DRIVER = "smoke.testbed.netclaim.io"


def test_node_is_ready_and_reports_the_pinned_version(kube: Kube) -> None:
    node = kube.get("v1", "Node", NODE_NAME)
    assert node is not None
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{versions().kubernetes}"


def test_kubectl_prints_the_real_version(kubeconfig: str) -> None:
    kubectl = default_layout().bin / "kubectl"
    out = subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "version", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = json.loads(out)
    assert info["clientVersion"]["gitVersion"] == f"v{versions().kubernetes}"
    assert info["serverVersion"]["gitVersion"] == f"v{versions().kubernetes}"


def test_pod_runs_with_a_cni_address(
    kube: Kube, namespace: str, containerd_socket: str, ctr: str
) -> None:
    kube.create(busybox_pod("smoke", namespace))
    pod = kube.wait_pod_running("smoke", namespace)
    pod_ip = ipaddress.ip_address(pod["status"]["podIP"])
    assert pod_ip in ipaddress.ip_network(POD_CIDR)

    # Seen from the host: the sandbox's netns holds eth0 with the pod IP.
    host_view = netns_exec(sandbox_pid(pod, containerd_socket, ctr), "ip", "-br", "addr")
    assert re.search(rf"^eth0@\S+\s+UP\s+{re.escape(str(pod_ip))}/24", host_view, re.M), host_view

    # Seen from inside the container (busybox ip), through apiserver → kubelet → containerd
    # streaming.
    inside = subprocess.run(
        [
            str(default_layout().bin / "kubectl"),
            "--kubeconfig",
            str(default_layout().admin_kubeconfig),
            "-n",
            namespace,
            "exec",
            "smoke",
            "--",
            "ip",
            "-o",
            "-4",
            "addr",
            "show",
            "eth0",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(pod_ip) in inside, inside


def test_scheduler_allocates_a_dra_claim(kube: Kube, namespace: str) -> None:
    class_name = f"{namespace}-class"
    slice_name = f"{namespace}-slice"
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": class_name},
            "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{SMOKE_DRIVER}"'}}]},
        }
    )
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceSlice",
            "metadata": {"name": slice_name},
            "spec": {
                "driver": SMOKE_DRIVER,
                "nodeName": NODE_NAME,
                "pool": {"name": namespace, "generation": 1, "resourceSliceCount": 1},
                "devices": [{"name": "dev-0", "attributes": {"kind": {"string": "smoke"}}}],
            },
        }
    )
    try:
        kube.create(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceClaim",
                "metadata": {"name": "claim", "namespace": namespace},
                "spec": {
                    "devices": {
                        "requests": [{"name": "dev", "exactly": {"deviceClassName": class_name}}]
                    }
                },
            }
        )
        kube.create(
            busybox_pod(
                "consumer",
                namespace,
                resourceClaims=[{"name": "dev", "resourceClaimName": "claim"}],
            )
        )

        def allocated() -> dict[str, object] | None:
            claim = kube.get("resource.k8s.io/v1", "ResourceClaim", "claim", namespace)
            return (claim or {}).get("status", {}).get("allocation")

        allocation = kube.wait_for("claim allocation", allocated, timeout=60)
        results = allocation["devices"]["results"]
        assert [(r["driver"], r["pool"], r["device"]) for r in results] == [
            (SMOKE_DRIVER, namespace, "dev-0")
        ]
        pod = kube.get("v1", "Pod", "consumer", namespace)
        assert pod is not None
        assert pod["spec"].get("nodeName") == NODE_NAME
    finally:
        kube.delete("v1", "Pod", "consumer", namespace)
        kube.delete("resource.k8s.io/v1", "ResourceSlice", slice_name)
        kube.delete("resource.k8s.io/v1", "DeviceClass", class_name)
