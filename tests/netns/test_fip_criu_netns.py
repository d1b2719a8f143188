"""A plain-TCP connection survives moving its server process, with its floating IP, from node
A to node B. CRIU checkpoints the process in pod A (the connection stays blocked by CRIU's
firewall rules, which go along to pod B), node A's driver withdraws the address, node B's driver
plumbs it into pod B, the client's route follows (as BGP would), and CRIU restores the process
there. Nodes and pods are network namespaces; each node's Driver works from a thread inside its
node's netns, as an agent runs in its node's. No CRIU release can checkpoint MPTCP sockets
(criu #2655), so this is TCP only."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from agent_testdata import claim, fip_result
from driver_harness import Harness
from netns_helpers import NETNS_DIR, ip

from netclaim_agent.model import Injection
from netclaim_agent.threadns import thread_in_netns
from testbed.criu import ensure_criu
from testbed.layout import default_layout

pytestmark = pytest.mark.netns

FIP = "198.51.100.33"
FIP_RESULT = fip_result(FIP)
CLIENT_IP = "10.125.0.1"
"""On the client's loopback, so the connection does not depend on which link it leaves by."""
PORT = 7000
STREAM_SECONDS = 6.0
DUMP_AFTER_SECONDS = 1.5
T = TypeVar("T")

SERVER = textwrap.dedent(
    """
    import socket, sys
    srv = socket.socket()
    srv.bind((sys.argv[1], int(sys.argv[2])))
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
    srv.close()
    while data := conn.recv(4096):
        conn.sendall(data)
    """
)

CLIENT = textwrap.dedent(
    """
    import socket, sys, time
    sock = socket.socket()
    sock.bind((sys.argv[1], 0))
    sock.settimeout(15)
    sock.connect((sys.argv[2], int(sys.argv[3])))
    echoes = sock.makefile("rb")
    deadline = time.monotonic() + float(sys.argv[4])
    sent = 0
    while time.monotonic() < deadline:
        sock.sendall(b"%d\\n" % sent)
        echo = echoes.readline()
        if echo != b"%d\\n" % sent:
            sys.exit(f"got {echo!r} where {sent} was due")
        sent += 1
        time.sleep(0.05)
    print(f"{sent} lines echoed in order", flush=True)
    """
)


class NodeInNetns:
    """A node's Driver whose calls run in a thread inside the node's netns."""

    def __init__(self, harness: Harness, netns: str) -> None:
        self.harness = harness
        self.netns = str(NETNS_DIR / netns)
        self._thread = ThreadPoolExecutor(1)

    def call(self, work: Callable[[], T]) -> T:
        def entered() -> T:
            with thread_in_netns(self.netns):
                return work()

        return self._thread.submit(entered).result()

    def close(self) -> None:
        self._thread.shutdown()


@pytest.fixture
def criu() -> str:
    binary = ensure_criu(default_layout())
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"Version:\s*(\d+)\.(\d+)", version.stdout)
    assert found and tuple(map(int, found.groups())) >= (4, 1), version.stdout
    return str(binary)


@pytest.fixture
def nodes(
    make_netns: Callable[[], str], harness_for: Callable[..., Harness]
) -> Iterator[tuple[str, NodeInNetns, NodeInNetns]]:
    """A client netns wired to two node netns (10.125.N.0/30 to node N), both forwarding."""
    client = make_netns()
    ip("link", "set", "lo", "up", netns=client)
    ip("addr", "add", f"{CLIENT_IP}/32", "dev", "lo", netns=client)
    made = []
    for number in (1, 2):
        node = make_netns()
        ip(
            "link",
            "add",
            f"c{number}",
            "netns",
            client,
            "type",
            "veth",
            "peer",
            "up0",
            "netns",
            node,
        )
        ip("addr", "add", f"10.125.{number}.1/30", "dev", f"c{number}", netns=client)
        ip("link", "set", f"c{number}", "up", netns=client)
        ip("addr", "add", f"10.125.{number}.2/30", "dev", "up0", netns=node)
        ip("link", "set", "up0", "up", netns=node)
        # A default route, as a node has: proxy ARP answers for the pod's gateway only then.
        ip("route", "add", "default", "via", f"10.125.{number}.1", netns=node)
        ip("netns", "exec", node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        made.append(NodeInNetns(harness_for(Injection.NRI, {}), node))
    yield client, made[0], made[1]
    for node in made:
        node.close()


def route_fip_via(client: str, node: int) -> None:
    ip("route", "replace", f"{FIP}/32", "via", f"10.125.{node}.2", netns=client)


def in_client(client: str) -> list[str]:
    return ["ip", "netns", "exec", client]


def in_netns(netns: str, *argv: str) -> list[str]:
    # nsenter, not `ip netns exec`: CRIU cannot dump a task in the mount namespace that adds.
    return ["nsenter", f"--net={NETNS_DIR / netns}", *argv]


def test_a_tcp_connection_survives_moving_its_server_and_floating_ip_to_another_node(
    criu: str,
    nodes: tuple[str, NodeInNetns, NodeInNetns],
    make_netns: Callable[[], str],
    tmp_path: Path,
) -> None:
    client, node_a, node_b = nodes
    pod_a, pod_b = make_netns(), make_netns()
    for pod in (pod_a, pod_b):
        ip("link", "set", "lo", "up", netns=pod)  # as in a real pod; CRIU's probes need it
    # One claim, reserved first by pod A and then by its replacement, pod B.
    ref, node_a.harness.api["uid-fip"] = claim(
        [], uid="uid-fip", pod_uid="pod-a", extra_results=[FIP_RESULT]
    )
    _, node_b.harness.api["uid-fip"] = claim(
        [], uid="uid-fip", pod_uid="pod-b", extra_results=[FIP_RESULT]
    )
    assert node_a.call(lambda: node_a.harness.driver.prepare([ref]))[ref.uid].error is None
    node_a.call(lambda: node_a.harness.driver.attach_pod("pod-a", str(NETNS_DIR / pod_a)))
    route_fip_via(client, 1)

    # A session leader of its own, so CRIU dumps it without --shell-job.
    server = subprocess.Popen(
        in_netns(pod_a, sys.executable, "-c", SERVER, FIP, str(PORT)),
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    images = tmp_path / "images"
    images.mkdir()
    restored = False
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        stream = subprocess.Popen(
            [
                *in_client(client),
                sys.executable,
                "-c",
                CLIENT,
                CLIENT_IP,
                FIP,
                str(PORT),
                str(STREAM_SECONDS),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(DUMP_AFTER_SECONDS)
        started = time.monotonic()
        dump = [criu, "dump", "-t", str(server.pid), "--tcp-established", "-D", str(images)]
        run_criu(in_netns(pod_a, *dump, "-o", "dump.log"), images / "dump.log")
        server.wait(timeout=10)  # CRIU ended it; its PID must be free for the restore
        dumped = time.monotonic()
        copy_firewall(pod_a, pod_b)

        node_a.call(lambda: node_a.harness.driver.detach_pod("pod-a", str(NETNS_DIR / pod_a)))
        assert node_a.call(lambda: node_a.harness.driver.unprepare([ref])) == {ref.uid: None}
        assert node_b.call(lambda: node_b.harness.driver.prepare([ref]))[ref.uid].error is None
        node_b.call(lambda: node_b.harness.driver.attach_pod("pod-b", str(NETNS_DIR / pod_b)))
        route_fip_via(client, 2)
        moved = time.monotonic()

        restore = [criu, "restore", "-d", "--tcp-established", "-D", str(images)]
        run_criu(in_netns(pod_b, *restore, "-o", "restore.log"), images / "restore.log")
        restored = True
        finished = time.monotonic()
        out, err = stream.communicate(timeout=30)
        assert stream.returncode == 0, err
        assert int(out.split()[0]) > 0, out
        print(
            f"CRIU move with the FIP: dump {dumped - started:.2f} s, address moved "
            f"{moved - dumped:.2f} s, restore {finished - moved:.2f} s; {out.strip()}"
        )
    finally:
        if server.poll() is None:
            server.kill()
        if restored:
            with_restored_gone(server.pid)
    node_b.call(lambda: node_b.harness.driver.detach_pod("pod-b", str(NETNS_DIR / pod_b)))
    assert node_b.call(lambda: node_b.harness.driver.unprepare([ref])) == {ref.uid: None}
    for node in (node_a, node_b):
        node.harness.assert_clean()


def run_criu(argv: list[str], log: Path) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else done.stderr
        pytest.fail(f"criu {argv[3]} exited {done.returncode}:\n{tail}")


def copy_firewall(source: str, target: str) -> None:
    """CRIU blocks the connection with iptables rules in the pod's netns and lifts them at
    restore; without them in the new pod, the client's next segment would meet no socket
    and be answered with a reset."""
    rules = subprocess.run(
        ["ip", "netns", "exec", source, "iptables-save"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(
        ["ip", "netns", "exec", target, "iptables-restore"], input=rules, text=True, check=True
    )


def with_restored_gone(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
