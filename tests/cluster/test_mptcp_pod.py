"""MPTCP on the multi-node bed: a pod on node 2 gets a macvlan on each of two node links from
two claims, one of which carries MPTCP settings (limits, a signal endpoint). A client wired to
both links keeps one MPTCP connection, every byte in order, while the path it started on is
deleted mid-stream."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from agent_process import AgentProcess
from kube import Kube, busybox_pod, sandbox_pid
from mptcp_stream import PORT, stream_across_cut
from workload import claim_spec, net_config, on_node2, wait_gone

from testbed import extra_node
from testbed.layout import default_layout

PATHS = ("198.18.31", "198.18.32")
"""Per path: the client is .1, the pod .2 (/24)."""


def in_node2(*argv: str) -> list[str]:
    return ["ip", "-n", extra_node.netns(2), *argv]


@pytest.fixture
def two_paths(node2: str) -> Iterator[tuple[str, list[str]]]:
    """A client netns reaching node 2 over two paths. Each path's NIC stand-in is a veth pair
    inside node 2 (the agent lends only such pairs, not links whose peer is elsewhere), whose
    other end shares a bridge with a link to the client."""
    tag = secrets.token_hex(2)
    client = f"nctestmp{tag}"
    subprocess.run(["ip", "netns", "add", client], check=True)
    nics = []
    for number, prefix in enumerate(PATHS, 1):
        nic, wire, bridge, uplink = (f"ctmp{tag}{part}{number}" for part in "nwbu")
        end = f"c{number}"
        for argv in (
            ("link", "add", nic, "type", "veth", "peer", "name", wire),
            ("link", "add", bridge, "type", "bridge"),
            ("link", "add", uplink, "type", "veth", "peer", "name", end, "netns", client),
            ("link", "set", wire, "master", bridge),
            ("link", "set", uplink, "master", bridge),
            *(("link", "set", link, "up") for link in (nic, wire, bridge, uplink)),
        ):
            subprocess.run(in_node2(*argv), check=True)
        subprocess.run(
            ["ip", "-n", client, "addr", "add", f"{prefix}.1/24", "dev", end], check=True
        )
        subprocess.run(["ip", "-n", client, "link", "set", end, "up"], check=True)
        nics.append(nic)
    subprocess.run(
        ["ip", "-n", client, "mptcp", "limits", "set", "subflow", "2", "add_addr_accepted", "2"],
        check=True,
    )
    yield client, nics
    for link in (f"ctmp{tag}{part}{n}" for part in "nbu" for n in (1, 2)):
        subprocess.run(in_node2("link", "del", link), check=False, capture_output=True)
    subprocess.run(["ip", "netns", "del", client], check=False, capture_output=True)


def path_claim(name: str, namespace: str, device_class: str, nic: str, number: int) -> Any:
    config = net_config(
        "macvlan", f"path{number}", 1500, f"{PATHS[number - 1]}.2/24", mode="bridge"
    )
    if number == 2:  # announced to the client, which opens the second subflow to it
        config["mptcp"] = {
            "limits": {"subflows": 2, "addAddrAccepted": 2},
            "endpoints": [{"flags": ["signal"]}],
        }
    selector = f'device.attributes["netclaim.io"].ifName == "{nic}"'
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": claim_spec(device_class, config, selector),
    }


def subflows(pid: int) -> int:
    """Established TCP subflows of the test connection in the pod's netns."""
    out = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "ss", "-Htn", "state", "established"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(f":{PORT} " in line for line in out.splitlines())


def test_an_mptcp_connection_to_a_pod_survives_losing_a_path(
    kube: Kube,
    node2: str,
    node2_agent: AgentProcess,
    namespace: str,
    device_classes: dict[str, str],
    two_paths: tuple[str, list[str]],
) -> None:
    client, nics = two_paths

    def published() -> bool:
        found = kube.resource("resource.k8s.io/v1", "ResourceSlice").get(
            field_selector=f"spec.nodeName={node2}"
        )
        text = json.dumps([s.to_dict() for s in found.items])
        return all(f'"{nic}"' in text for nic in nics)

    kube.wait_for(f"{node2} publishes both new links", published, 60)
    for number, nic in enumerate(nics, 1):
        kube.create(path_claim(f"path{number}", namespace, device_classes["macvlan"], nic, number))
    pod = busybox_pod(
        "mptcp-server",
        namespace,
        resourceClaims=[{"name": f"p{n}", "resourceClaimName": f"path{n}"} for n in (1, 2)],
    )
    kube.create(on_node2(pod, node2))
    running = kube.wait_pod_running("mptcp-server", namespace)
    socket = str(extra_node.spec(default_layout(), 2).containerd_socket)
    pid = sandbox_pid(running, socket, str(default_layout().bin / "ctr"))

    joined: list[int] = []

    def cut() -> None:
        joined.append(subflows(pid))
        subprocess.run(in_node2("link", "del", nics[0]), check=True)  # path 1 gone, mid-stream

    delivery = stream_across_cut(
        ["nsenter", "-t", str(pid), "-n"], ["ip", "netns", "exec", client], f"{PATHS[0]}.2", cut
    )
    assert joined == [2], "the second path had joined before the first was cut"
    assert (delivery.received, delivery.leftover) == (delivery.sent, 0), "every byte, in order"
    assert delivery.sent > 0
    print(f"MPTCP across a lost path: {delivery.sent} words delivered in order")

    kube.delete("v1", "Pod", "mptcp-server", namespace)
    wait_gone(kube, "Pod", "mptcp-server", namespace)
