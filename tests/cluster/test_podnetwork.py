"""PodNetworks on the real node: the controller reports and publishes a network's addresses,
the agent tags the devices it selects, and pods asking for the network by name get distinct
addresses from its range with its gateway routes."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_process import AgentProcess
from controller_process import ControllerProcess
from kube import Kube, busybox_pod, kubectl_exec, netns_exec, sandbox_pid
from workload import on_node2, wait_gone

from testbed import extra_node, pki
from testbed.layout import default_layout

PNET = ("netclaim.io/v1alpha1", "PodNetwork")
GATEWAY = "10.231.0.1"
TAG = 'device.attributes["netclaim.io"].podNetwork'


@pytest.fixture
def controller(agent_rbac: None, tmp_path: Path) -> Iterator[ControllerProcess]:
    layout = default_layout()
    pki.ensure_pki(layout.pki)
    proc = ControllerProcess(
        str(layout.pki / "netclaim-controller.kubeconfig"),
        f"test-{uuid.uuid4().hex[:6]}",
        layout.logs / "netclaim-controller.log",
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def nri_agent(agent_rbac: None, tmp_path: Path) -> Iterator[AgentProcess]:
    layout = default_layout()
    proc = AgentProcess(
        str(layout.pki / "netclaim-agent.kubeconfig"),
        "nri",
        tmp_path / "state",
        layout.logs / "netclaim-agent-nri.log",
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def two_nics() -> Iterator[tuple[str, str]]:
    """Two veth ends standing in for the network's NICs."""
    names = tuple(f"ctpn{uuid.uuid4().hex[:6]}" for _ in range(2))
    for nic in names:
        subprocess.run(
            ["ip", "link", "add", nic, "type", "veth", "peer", "name", f"{nic}p"], check=True
        )
        subprocess.run(["ip", "link", "set", nic, "up"], check=True)
    yield names[0], names[1]
    for nic in names:
        subprocess.run(["ip", "link", "del", nic], check=False, capture_output=True)


@pytest.fixture
def make_network(kube: Kube, netclaim_crds: None) -> Iterator[Any]:
    """Networks (and their two classes) removed after the test. Request it after the agents
    and the controller and before `namespace`: pods go first, then the networks (whose
    finalizer the controller lifts once no claim holds an address), then the processes."""
    made: list[str] = []

    def factory(spec: dict[str, Any], *, classes: bool = True) -> str:
        name = f"nctest-{uuid.uuid4().hex[:6]}"
        kube.create(
            {"apiVersion": PNET[0], "kind": PNET[1], "metadata": {"name": name}, "spec": spec}
        )
        made.append(name)
        if classes:
            for suffix, kind_rule in (
                (
                    "",
                    '!has(device.attributes["netclaim.io"].kind) || '
                    'device.attributes["netclaim.io"].kind != "network-address"',
                ),
                ("-address", 'device.attributes["netclaim.io"].kind == "network-address"'),
            ):
                # What the device_class module makes for pod_network (and pod_network_addresses).
                kube.create(
                    {
                        "apiVersion": "resource.k8s.io/v1",
                        "kind": "DeviceClass",
                        "metadata": {
                            "name": name + suffix,
                            "labels": {"netclaim.io/pod-network": name},
                        },
                        "spec": {
                            "selectors": [
                                {"cel": {"expression": 'device.driver == "netclaim.io"'}},
                                {
                                    "cel": {
                                        "expression": f"has({TAG}) && {TAG} == {json.dumps(name)}"
                                    }
                                },
                                {"cel": {"expression": kind_rule}},
                            ]
                        },
                    }
                )
                made.append("class:" + name + suffix)
        return name

    yield factory
    for name in made:
        if name.startswith("class:"):
            kube.delete("resource.k8s.io/v1", "DeviceClass", name.removeprefix("class:"))
        else:
            kube.delete(*PNET, name)
    for name in made:
        if not name.startswith("class:"):
            kube.wait_for(f"PodNetwork {name} gone", lambda n=name: kube.get(*PNET, n) is None, 60)


def network_spec(
    nics: tuple[str, ...], cidr: str = "10.231.0.0/24", **extra: Any
) -> dict[str, Any]:
    return {
        "mtu": 1400,
        "deviceSelector": {"kinds": ["macvlan"], "interfaceNames": list(nics)},
        "ipam": {
            "ranges": [{"cidr": cidr, "start": "10.231.0.10", "end": "10.231.0.12"}],
            "gateway": GATEWAY,
            "routes": [{"to": "10.232.0.0/16"}],
        },
        **extra,
    }


def condition(kube: Kube, name: str) -> dict[str, Any]:
    obj = kube.get(*PNET, name) or {}
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == "Ready"), {}
    )


def wait_reason(kube: Kube, name: str, reason: str, timeout: float = 60) -> dict[str, Any]:
    return dict(
        kube.wait_for(
            f"PodNetwork {name} condition reason {reason} (now {condition(kube, name)})",
            lambda: (c := condition(kube, name)).get("reason") == reason and c,
            timeout,
        )
    )


def tagged_devices(kube: Kube, network: str) -> list[str]:
    slices = kube.resource("resource.k8s.io/v1", "ResourceSlice").get().to_dict()["items"]
    return sorted(
        d["name"]
        for s in slices
        if s["spec"].get("nodeName")
        for d in s["spec"].get("devices") or ()
        if (d.get("attributes") or {}).get("podNetwork", {}).get("string") == network
    )


def network_pod(
    kube: Kube, name: str, namespace: str, network: str, node: str | None = None
) -> None:
    template = f"{name}-tmpl"
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaimTemplate",
            "metadata": {"name": template, "namespace": namespace},
            "spec": {
                "spec": {
                    "devices": {
                        "requests": [
                            {"name": "net", "exactly": {"deviceClassName": network}},
                            {
                                "name": "net-address",
                                "exactly": {"deviceClassName": f"{network}-address"},
                            },
                        ]
                    }
                }
            },
        }
    )
    pod = busybox_pod(
        name, namespace, resourceClaims=[{"name": "net", "resourceClaimTemplateName": template}]
    )
    kube.create(pod if node is None else on_node2(pod, node))


def pod_address(
    kube: Kube, pod: dict[str, Any], containerd_socket: str, ctr: str
) -> tuple[str, int, str, int]:
    """(address/prefix, mtu, route to 10.232.0.0/16, …) of net1 in the pod's netns."""
    pid = sandbox_pid(pod, containerd_socket, ctr)
    [link] = json.loads(netns_exec(pid, "ip", "-j", "addr", "show", "net1"))
    [addr] = [a for a in link["addr_info"] if a["family"] == "inet"]
    routes = json.loads(netns_exec(pid, "ip", "-j", "route", "show", "10.232.0.0/16"))
    return (
        f"{addr['local']}/{addr['prefixlen']}",
        int(link["mtu"]),
        routes[0].get("gateway", ""),
        len(routes),
    )


def pod_events(kube: Kube, name: str, namespace: str) -> list[tuple[str, str]]:
    events = kube.resource("v1", "Event").get(namespace=namespace).to_dict()["items"]
    return [(e["reason"], e["message"]) for e in events if e["involvedObject"]["name"] == name]


def test_pods_join_a_network_by_name_and_get_distinct_addresses_from_its_range(
    kube: Kube,
    controller: ControllerProcess,
    nri_agent: AgentProcess,
    two_nics: tuple[str, str],
    make_network: Any,
    namespace: str,
    containerd_socket: str,
    ctr: str,
) -> None:
    network = make_network(network_spec(two_nics))
    wait_reason(kube, network, "Ready")
    # Ready once one device is seen; the agent may publish the second NIC's a moment later.
    kube.wait_for(
        f"PodNetwork {network} counts both NICs",
        lambda: (
            "2 devices on 1 nodes; 3 of 3 addresses free"
            in condition(kube, network).get("message", "")
        ),
        60,
    )
    kube.wait_for(
        "the agent tags both macvlan devices", lambda: len(tagged_devices(kube, network)) == 2, 60
    )

    started = time.monotonic()
    for name in ("a", "b", "c"):
        network_pod(kube, name, namespace, network)
    pods = {name: kube.wait_pod_running(name, namespace) for name in ("a", "b", "c")}
    print(f"three network pods Running {time.monotonic() - started:.1f} s after creation")
    seen = {}
    for name, pod in pods.items():
        address, mtu, via, count = pod_address(kube, pod, containerd_socket, ctr)
        assert (mtu, via, count) == (1400, GATEWAY, 1), (name, address, mtu, via)
        seen[name] = address
    assert sorted(seen.values()) == ["10.231.0.10/24", "10.231.0.11/24", "10.231.0.12/24"]
    claim_name = pods["a"]["status"]["resourceClaimStatuses"][0]["resourceClaimName"]
    claim = kube.get("resource.k8s.io/v1", "ResourceClaim", claim_name, namespace) or {}
    reported = [
        d["networkData"] for d in claim["status"].get("devices") or () if d.get("networkData")
    ]
    assert reported and reported[0]["ips"] == [seen["a"]], reported

    # The range is full: the next pod waits and is told why.
    network_pod(kube, "d", namespace, network)
    kube.wait_for(
        "an event on pod d saying the range is full",
        lambda: any(
            "address range is full" in m
            for r, m in pod_events(kube, "d", namespace)
            if r == "AddressRangeFull"
        ),
        60,
    )
    assert (kube.get("v1", "Pod", "d", namespace) or {})["status"]["phase"] == "Pending"

    # Deleting a pod returns its address; the waiting pod gets it.
    kube.delete("v1", "Pod", "c", namespace)
    pods["d"] = kube.wait_pod_running("d", namespace, timeout=120)
    assert pod_address(kube, pods["d"], containerd_socket, ctr)[0] == seen["c"]

    # Disabled: new pods wait with the reason, running ones keep their interfaces.
    kube.resource(*PNET).patch(
        body={"spec": {"enabled": False}}, name=network, content_type="application/merge-patch+json"
    )
    wait_reason(kube, network, "Disabled")
    kube.wait_for("devices untagged", lambda: tagged_devices(kube, network) == [], 60)
    kube.delete("v1", "Pod", "b", namespace)
    network_pod(kube, "e", namespace, network)
    kube.wait_for(
        "an event on pod e saying the network is disabled",
        lambda: any("spec.enabled is false" in m for _, m in pod_events(kube, "e", namespace)),
        60,
    )
    for name in ("a", "d"):
        assert (
            pod_address(kube, pods[name], containerd_socket, ctr)[0]
            == seen[name if name == "a" else "c"]
        )

    # Deleted while in use: the network stays (finalizer) until its claims let go.
    kube.delete(*PNET, network)
    wait_reason(kube, network, "Deleting")
    # Pods a and d hold addresses (b's claim is released once b is gone).
    kube.wait_for(
        f"PodNetwork {network} waiting for the two claims still holding addresses",
        lambda: "waiting for 2 claims" in condition(kube, network).get("message", ""),
        60,
    )
    assert pod_address(kube, pods["a"], containerd_socket, ctr)[0] == seen["a"]
    for name in ("a", "d", "e"):
        kube.delete("v1", "Pod", name, namespace)
    for name in ("a", "d", "e"):
        wait_gone(kube, "Pod", name, namespace)
    kube.wait_for(
        "PodNetwork gone once no claim holds an address",
        lambda: kube.get(*PNET, network) is None,
        60,
    )


def default_route_interface() -> str | None:
    routes = json.loads(
        subprocess.run(
            ["ip", "-j", "route", "show", "default"], capture_output=True, text=True, check=True
        ).stdout
    )
    return routes[0].get("dev") if routes else None


def test_bad_networks_are_reported_in_status_and_events(
    kube: Kube,
    controller: ControllerProcess,
    nri_agent: AgentProcess,
    two_nics: tuple[str, str],
    make_network: Any,
) -> None:
    first = make_network(network_spec(two_nics[:1]), classes=False)
    wait_reason(kube, first, "Ready")
    overlapping = make_network(network_spec(two_nics[1:]), classes=False)
    assert first in wait_reason(kube, overlapping, "OverlapsNetwork")["message"]
    outside = make_network(
        {
            "deviceSelector": {"kinds": ["macvlan"]},
            "ipam": {"ranges": [{"cidr": "10.241.0.0/24"}], "gateway": "10.242.0.1"},
        },
        classes=False,
    )
    assert (
        "gateway 10.242.0.1 is outside every range"
        in wait_reason(kube, outside, "InvalidIPAM")["message"]
    )
    twice = make_network(
        {
            **network_spec(two_nics[:1], cidr="10.243.0.0/24"),
            "ipam": {"ranges": [{"cidr": "10.243.0.0/24"}]},
        },
        classes=False,
    )
    assert wait_reason(kube, twice, "DeviceSelectedTwice")
    wait_reason(kube, first, "DeviceSelectedTwice")  # both networks report it
    kube.wait_for(
        "the contested device untagged",
        lambda: tagged_devices(kube, first) == [] and tagged_devices(kube, twice) == [],
        30,
    )
    uplink = default_route_interface()
    if uplink is None:
        pytest.skip("this machine has no default route, so no default-route interface to name")
    named = make_network(
        {
            "deviceSelector": {"interfaceNames": [uplink]},
            "ipam": {"ranges": [{"cidr": "10.244.250.0/24"}]},
        },
        classes=False,
    )
    message = wait_reason(kube, named, "SelectsDefaultRouteInterface")["message"]
    assert f"/{uplink}" in message
    events = kube.resource("v1", "Event").get(namespace="default").to_dict()["items"]
    assert any(
        e["involvedObject"]["name"] == named and e["reason"] == "SelectsDefaultRouteInterface"
        for e in events
    )


def test_a_second_controller_takes_over_within_15_seconds(
    kube: Kube, agent_rbac: None, make_network: Any, two_nics: tuple[str, str], tmp_path: Path
) -> None:
    layout = default_layout()
    pki.ensure_pki(layout.pki)
    config = str(layout.pki / "netclaim-controller.kubeconfig")
    first = ControllerProcess(config, "first", layout.logs / "netclaim-controller-first.log")
    second = ControllerProcess(config, "second", layout.logs / "netclaim-controller-second.log")
    first.start()
    try:
        kube.wait_for("first controller holds the lease", lambda: holder(kube) == "first", 30)
        second.start()
        time.sleep(3)
        assert holder(kube) == "first", "the standby must not take a live lease"
        first.kill()
        killed = time.monotonic()
        kube.wait_for("second controller holds the lease", lambda: holder(kube) == "second", 20)
        took = time.monotonic() - killed
        print(f"standby controller took over {took:.1f} s after the leader was killed")
        assert took < 15
        network = make_network(
            {
                "deviceSelector": {"interfaceNames": [two_nics[0]]},
                "ipam": {"ranges": [{"cidr": "10.245.0.0/24"}]},
            },
            classes=False,
        )
        wait_reason(kube, network, "NoMatchingDevices")
        # The new leader also lifts the finalizer of a network nobody uses.
        kube.delete(*PNET, network)
        kube.wait_for("PodNetwork deleted", lambda: kube.get(*PNET, network) is None, 30)
    finally:
        first.stop()
        second.stop()


def holder(kube: Kube) -> str | None:
    lease = kube.get("coordination.k8s.io/v1", "Lease", "netclaim-controller", "kube-system") or {}
    return (lease.get("spec") or {}).get("holderIdentity")


def test_addresses_are_distinct_across_nodes(
    kube: Kube,
    controller: ControllerProcess,
    nri_agent: AgentProcess,
    node2: str,
    node2_agent: AgentProcess,
    two_nics: tuple[str, str],
    make_network: Any,
    namespace: str,
    kubeconfig: str,
) -> None:
    """One network over a NIC on each node and two addresses: a pod on each node, each with
    its own address (the scheduler allocates them from one network-attached pool)."""
    there = f"ctpn{uuid.uuid4().hex[:6]}"
    netns = f"--net={extra_node.netns_path(2)}"
    subprocess.run(
        ["nsenter", netns, "ip", "link", "add", there, "type", "veth", "peer", "name", f"{there}p"],
        check=True,
    )
    subprocess.run(["nsenter", netns, "ip", "link", "set", there, "up"], check=True)
    try:
        spec = network_spec((two_nics[0], there))
        spec["ipam"]["ranges"][0]["end"] = "10.231.0.11"
        network = make_network(spec)
        # Ready as soon as one node offers a device; node 2 publishes its new link a moment later.
        kube.wait_for(
            f"PodNetwork {network} offered by both nodes",
            lambda: "2 devices on 2 nodes" in condition(kube, network).get("message", ""),
            60,
        )
        kube.wait_for(
            "both nodes tag their device", lambda: len(tagged_devices(kube, network)) == 2, 60
        )
        network_pod(kube, "here", namespace, network)
        network_pod(kube, "there", namespace, network, node=node2)
        found = {}
        layout = default_layout()
        for name in ("here", "there"):
            pod = kube.wait_pod_running(name, namespace)
            out = kubectl_exec(
                str(layout.bin / "kubectl"),
                kubeconfig,
                pod,
                "main",
                "ip",
                "-o",
                "-4",
                "addr",
                "show",
                "net1",
            )
            found[name] = out.split()[3]
        assert sorted(found.values()) == ["10.231.0.10/24", "10.231.0.11/24"], found
    finally:
        subprocess.run(
            ["nsenter", netns, "ip", "link", "del", there], check=False, capture_output=True
        )
