"""netclaim-agent on the real node: pods get the interfaces their claims describe.

Each test runs in both injection modes: NRI (the agent's RunPodSandbox hook configures the
interface in the pod netns) and CDI (runc moves the pre-built link at container creation)."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_process import AgentProcess
from kube import Kube, busybox_pod, netns_exec, sandbox_pid

DRIVER = "netclaim.io"
OUR_LINK_PREFIXES = ("nc", "nt")


def host_links() -> set[str]:
    links = json.loads(
        subprocess.run(
            ["ip", "-j", "link", "show"], capture_output=True, text=True, check=True
        ).stdout
    )
    return {link["ifname"] for link in links}


def our_links() -> set[str]:
    return {n for n in host_links() if n.startswith(OUR_LINK_PREFIXES)}


def net_config(kind: str, ifname: str, mtu: int, address: str, **device: Any) -> dict[str, Any]:
    return {
        "apiVersion": "netclaim.io/v1alpha1",
        "kind": "NetworkConfig",
        "device": {"kind": kind, **device},
        "interface": {"name": ifname, "mtu": mtu, "addresses": [address]},
    }


def claim_pod(name: str, namespace: str, claim: dict[str, str]) -> dict[str, Any]:
    """A pod using `claim` as `net`; its container lists the claim so that in CDI mode the
    runtime applies the claim's CDI devices (netDevices) to it."""
    return busybox_pod(
        name,
        namespace,
        resourceClaims=[{"name": "net", **claim}],
        container={"resources": {"claims": [{"name": "net"}]}},
    )


def claim_spec(
    device_class: str, config: dict[str, Any], selector: str | None = None
) -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": device_class}
    if selector:
        exactly["selectors"] = [{"cel": {"expression": selector}}]
    return {
        "devices": {
            "requests": [{"name": "net", "exactly": exactly}],
            "config": [{"requests": ["net"], "opaque": {"driver": DRIVER, "parameters": config}}],
        }
    }


def pod_interface(
    pod: dict[str, Any], containerd_socket: str, ctr: str, ifname: str
) -> dict[str, Any]:
    out = netns_exec(sandbox_pid(pod, containerd_socket, ctr), "ip", "-j", "addr", "show", ifname)
    [link] = json.loads(out)
    return dict(link)


def wait_gone(kube: Kube, kind: str, name: str, namespace: str, timeout: float = 90) -> None:
    kube.wait_for(
        f"{kind} {namespace}/{name} deleted",
        lambda: kube.get("v1", kind, name, namespace) is None,
        timeout,
    )


@pytest.fixture
def standin_nic() -> Iterator[str]:
    """A veth pair standing in for a NIC; its names avoid the agent's own link prefixes."""
    nic = f"ctnic{secrets.token_hex(3)}"
    subprocess.run(
        ["ip", "link", "add", nic, "mtu", "1500", "type", "veth", "peer", "name", f"{nic}p"],
        check=True,
    )
    subprocess.run(["ip", "link", "set", nic, "up"], check=True)
    subprocess.run(["ip", "link", "set", f"{nic}p", "up"], check=True)
    yield nic
    subprocess.run(["ip", "link", "del", nic], check=False, capture_output=True)


def _claim_of(kube: Kube, pod: dict[str, Any], namespace: str) -> dict[str, Any]:
    statuses = pod["status"].get("resourceClaimStatuses") or []
    name = statuses[0]["resourceClaimName"]
    claim = kube.get("resource.k8s.io/v1", "ResourceClaim", name, namespace)
    assert claim is not None
    return claim


def _wait_network_data(kube: Kube, pod: dict[str, Any], namespace: str) -> dict[str, Any]:
    def reported() -> dict[str, Any] | None:
        devices = _claim_of(kube, pod, namespace).get("status", {}).get("devices") or []
        return devices[0] if devices and devices[0].get("networkData") else None

    return dict(kube.wait_for("claim status.devices[].networkData", reported, timeout=30))


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

    status = _wait_network_data(kube, pod, namespace)
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
