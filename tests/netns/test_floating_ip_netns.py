"""A floating-IP claim on the real kernel: a client in another netns reaches the pod at the
floating IP through the node, and nothing of it is left after Unprepare."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import pytest
from agent_testdata import claim, fip_result, network_config, opaque
from driver_harness import Harness
from netns_helpers import NETNS_DIR, ip, ip_json

from netclaim_agent import mptcp
from netclaim_agent.model import Injection

pytestmark = pytest.mark.netns

FIP = "198.51.100.7"
FIP_RESULT = fip_result(FIP)
PORT = 8080

SERVER = textwrap.dedent(
    """
    import socket, sys
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((sys.argv[1], int(sys.argv[2])))
    srv.listen(1)
    srv.settimeout(15)
    print("listening", flush=True)
    conn, peer = srv.accept()
    conn.sendall(f"hello {peer[0]}".encode())
    conn.close()
    """
)


@pytest.fixture
def client(make_netns: Callable[[], str], node_forwards: None) -> Iterator[str]:
    """A netns routed to the node (this host) over a veth pair: 198.18.201.2 -> .1."""
    ns = make_netns()
    host_end = f"nctest{secrets.token_hex(3)}"
    ip("link", "add", host_end, "type", "veth", "peer", "c0", "netns", ns)
    ip("addr", "add", "198.18.201.1/30", "dev", host_end)
    ip("link", "set", host_end, "up")
    ip("addr", "add", "198.18.201.2/30", "dev", "c0", netns=ns)
    ip("link", "set", "c0", "up", netns=ns)
    ip("route", "add", "default", "via", "198.18.201.1", netns=ns)
    yield ns
    subprocess.run(["ip", "link", "del", host_end], capture_output=True, timeout=10, check=False)


def connect(ns: str) -> subprocess.CompletedProcess[str]:
    code = f"import socket; s = socket.create_connection(('{FIP}', {PORT}), timeout=5); "
    code += "print(s.recv(100).decode())"
    return subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_a_client_reaches_the_pod_at_its_floating_ip(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], client: str
) -> None:
    harness = harness_for(Injection.NRI, {})
    pod = make_netns()
    ref, body = claim([], [], extra_results=[FIP_RESULT])
    harness.api[ref.uid] = body
    result = harness.driver.prepare([ref])[ref.uid]
    assert result.error is None, result.error
    assert result.network[0].ips == (f"{FIP}/32",)
    harness.driver.attach_pod("pod-1", str(NETNS_DIR / pod))

    [link] = ip_json("addr", "show", "dev", "net1", netns=pod)
    assert [(a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"] == [
        (FIP, 32)
    ]
    rules = json.loads(ip("-j", "rule", "show", netns=pod))
    assert any(r.get("src") == FIP and r.get("table") == "2510" for r in rules), rules
    [host_route] = ip_json("route", "show", f"{FIP}/32")
    assert host_route["dev"].startswith("nc")

    server = subprocess.Popen(
        ["ip", "netns", "exec", pod, sys.executable, "-c", SERVER, FIP, str(PORT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        reply = connect(client)
        assert reply.stdout.strip() == "hello 198.18.201.2", reply.stderr
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()

    harness.driver.detach_pod("pod-1", str(NETNS_DIR / pod))
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    assert ip_json("route", "show", f"{FIP}/32") == [], "the node no longer routes the FIP"
    harness.assert_clean()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (network_config(addresses=["10.0.0.1/24"]), "carries only its address"),
        (network_config(routes=[{"to": "10.9.0.0/16"}]), "netclaim sets the routes"),
    ],
)
def test_floating_ip_config_mistakes_fail_the_claim(
    harness_for: Callable[..., Harness], config: dict[str, object], expected: str
) -> None:
    harness = harness_for(Injection.NRI, {})
    ref, body = claim([], [opaque(config)], extra_results=[FIP_RESULT])
    harness.api[ref.uid] = body
    result = harness.driver.prepare([ref])[ref.uid]
    assert result.error is not None and expected in result.error
    harness.assert_clean()


def test_floating_ips_need_nri(harness_for: Callable[..., Harness]) -> None:
    harness = harness_for(Injection.CDI, {})
    ref, body = claim([], [], extra_results=[FIP_RESULT])
    harness.api[ref.uid] = body
    result = harness.driver.prepare([ref])[ref.uid]
    assert result.error is not None and "need NRI injection" in result.error


@pytest.fixture
def lan(make_netns: Callable[[], str], node_forwards: None) -> Iterator[tuple[str, str]]:
    """A client netns on the FIP's own subnet, behind a veth end that stands in for the node's
    uplink (a test link: announcements never go out on the machine's real uplink)."""
    ns = make_netns()
    uplink = f"ctup{secrets.token_hex(3)}"
    ip("link", "add", uplink, "type", "veth", "peer", "c0", "netns", ns)
    ip("addr", "add", "198.51.100.1/24", "dev", uplink)
    ip("link", "set", uplink, "up")
    ip("addr", "add", "198.51.100.100/24", "dev", "c0", netns=ns)
    ip("link", "set", "c0", "up", netns=ns)
    yield ns, uplink
    subprocess.run(["ip", "link", "del", uplink], capture_output=True, timeout=10, check=False)


def neighbour(ns: str, address: str) -> dict[str, object]:
    found = ip_json("neigh", "show", address, netns=ns)
    return dict(found[0]) if found else {}


def test_gratuitous_arp_moves_the_clients_and_the_node_answers_for_the_address(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], lan: tuple[str, str]
) -> None:
    client, uplink = lan
    harness = harness_for(
        Injection.NRI, {}, pool_announce=lambda _pool: "gratuitousARP", uplinks=lambda: (uplink,)
    )
    # The client last saw the address at another node's MAC.
    ip(
        "neigh",
        "replace",
        FIP,
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "c0",
        "nud",
        "stale",
        netns=client,
    )
    pod = make_netns()
    ref, body = claim([], [], extra_results=[FIP_RESULT])
    harness.api[ref.uid] = body
    assert harness.driver.prepare([ref])[ref.uid].error is None
    harness.driver.attach_pod("pod-1", str(NETNS_DIR / pod))

    node_mac = ip_json("link", "show", uplink)[0]["address"]
    assert neighbour(client, FIP).get("lladdr") == node_mac, "the announcement updated the client"
    assert ip_json("neigh", "show", "proxy", "dev", uplink)[0]["dst"] == FIP

    server = subprocess.Popen(
        ["ip", "netns", "exec", pod, sys.executable, "-c", SERVER, FIP, str(PORT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        ip("neigh", "flush", "dev", "c0", netns=client)  # now it must ask, and the node answers
        reply = connect(client)
        assert reply.stdout.strip() == "hello 198.51.100.100", reply.stderr
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()

    harness.driver.detach_pod("pod-1", str(NETNS_DIR / pod))
    assert ip_json("neigh", "show", "proxy", "dev", uplink) == [], "withdrawn at StopPodSandbox"
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()


def test_the_floating_ip_is_the_pods_mptcp_endpoint(
    harness_for: Callable[..., Harness], make_netns: Callable[[], str], node_forwards: None
) -> None:
    harness = harness_for(Injection.NRI, {})
    pod = make_netns()
    config = {**network_config(), "mptcp": {"endpoints": [{"flags": ["signal"]}]}}
    ref, body = claim([], [opaque(config)], extra_results=[FIP_RESULT])
    harness.api[ref.uid] = body
    assert harness.driver.prepare([ref])[ref.uid].error is None
    harness.driver.attach_pod("pod-1", str(NETNS_DIR / pod))
    assert mptcp.endpoints(str(NETNS_DIR / pod)) == [(FIP, 1)]  # 1: signal

    harness.driver.detach_pod("pod-1", str(NETNS_DIR / pod))
    assert harness.driver.unprepare([ref]) == {ref.uid: None}
    harness.assert_clean()
