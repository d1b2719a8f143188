"""What the cluster tests build and look at: claims with netclaim opaque config, pods using
them, and the links on the host and in a pod's network namespace."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from kube import Kube, busybox_pod, netns_exec, sandbox_pid

DRIVER = "netclaim.io"
OUR_LINK_PREFIXES = ("nc", "nt")
TOLERATION = {"key": "netclaim.io/extra-node", "operator": "Exists", "effect": "NoSchedule"}


def on_node2(pod: dict[str, Any], node: str) -> dict[str, Any]:
    """Pin a pod to an extra node through the scheduler (a nodeName would skip it, and with it
    the claim allocation), tolerating the extra nodes' taint."""
    pod["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node}
    pod["spec"]["tolerations"] = [TOLERATION]
    return pod


def host_links(netns: str | None = None) -> set[str]:
    """Link names of the host netns, or of the named one (an extra node's)."""
    where = ["-n", netns] if netns else []
    links = json.loads(
        subprocess.run(
            ["ip", *where, "-j", "link", "show"], capture_output=True, text=True, check=True
        ).stdout
    )
    return {link["ifname"] for link in links}


def our_links(netns: str | None = None) -> set[str]:
    """The agent's own links (host ends, temporary names) there."""
    return {n for n in host_links(netns) if n.startswith(OUR_LINK_PREFIXES)}


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


def claim_of(kube: Kube, pod: dict[str, Any], namespace: str) -> dict[str, Any]:
    statuses = pod["status"].get("resourceClaimStatuses") or []
    name = statuses[0]["resourceClaimName"]
    claim = kube.get("resource.k8s.io/v1", "ResourceClaim", name, namespace)
    assert claim is not None
    return claim


def wait_network_data(kube: Kube, pod: dict[str, Any], namespace: str) -> dict[str, Any]:
    def reported() -> dict[str, Any] | None:
        devices = claim_of(kube, pod, namespace).get("status", {}).get("devices") or []
        return devices[0] if devices and devices[0].get("networkData") else None

    return dict(kube.wait_for("claim status.devices[].networkData", reported, timeout=30))


def fip_claim(
    name: str, namespace: str, device_class: str, ip: str | None = None
) -> dict[str, Any]:
    exactly: dict[str, Any] = {"deviceClassName": device_class}
    if ip:
        exactly["selectors"] = [
            {"cel": {"expression": f'device.attributes["netclaim.io"].ip == "{ip}"'}}
        ]
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"devices": {"requests": [{"name": "fip", "exactly": exactly}]}},
    }
