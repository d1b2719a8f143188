"""Floating-IP move plumbing: withdraw on node A, announce on node B.

Node A is this host's netns, node B a netns of its own whose work runs in a thread that entered
it (the agent's code follows the calling thread's netns). Each move: A detaches and unprepares
the claim (the pod's veth pair and the node's /32 route go), B prepares and attaches it (veth
pair, FIP/32, routes and rule in the pod, /32 route and proxy ARP on the node). Pod start-up
and scheduling are not in these figures; `tests/cluster/test_fip_move.py` prints the whole."""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from bench_prepare import percentile

from netclaim_agent import DRIVER_NAME
from netclaim_agent.driver import Driver
from netclaim_agent.model import ClaimRef, Injection
from netclaim_agent.threadns import thread_in_netns

MOVES = 50
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
NETNS_DIR = Path("/var/run/netns")
T = TypeVar("T")


def fip_claim(ref: ClaimRef, pod_uid: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": ref.namespace, "name": ref.name, "uid": ref.uid},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {
                            "request": "fip",
                            "driver": DRIVER_NAME,
                            "pool": "floating-ip/bench",
                            "device": "fip-198-51-100-99",
                        }
                    ]
                }
            },
            "reservedFor": [{"resource": "pods", "name": "p", "uid": pod_uid}],
        },
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    tag = uuid.uuid4().hex[:4]
    node_b, pod_a, pod_b = (f"ncbfip{tag}{n}" for n in ("nb", "pa", "pb"))
    for name in (node_b, pod_a, pod_b):
        subprocess.run(["ip", "netns", "add", name], check=True)
    # Node B needs a default route for proxy ARP to answer for the pod's gateway.
    subprocess.run(
        ["ip", "-n", node_b, "link", "add", "up0", "type", "veth", "peer", "up1"], check=True
    )
    subprocess.run(["ip", "-n", node_b, "addr", "add", "192.0.2.1/24", "dev", "up0"], check=True)
    subprocess.run(["ip", "-n", node_b, "link", "set", "up0", "up"], check=True)
    subprocess.run(["ip", "-n", node_b, "route", "add", "default", "via", "192.0.2.2"], check=True)
    # Both nodes forward, as floating IPs need (node A is this host: restored at the end).
    subprocess.run(
        ["ip", "netns", "exec", node_b, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], check=True
    )
    host_forwarding = FORWARDING.read_text().strip()
    FORWARDING.write_text("1")
    claims: dict[str, dict[str, Any]] = {}
    withdraw, announce = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="ncbench") as tmp, ThreadPoolExecutor(1) as b:

            def on_b(work: Callable[[], T]) -> T:
                def entered() -> T:
                    with thread_in_netns(str(NETNS_DIR / node_b)):
                        return work()

                return b.submit(entered).result()

            def driver(name: str) -> Driver:
                return Driver(
                    node_name=name,
                    fetch_claim=lambda ref: claims[ref.uid],
                    inventory=lambda _name: None,
                    state_dir=Path(tmp) / name,
                    cdi_dir=Path(tmp) / f"{name}-cdi",
                    injection=Injection.NRI,
                    netns_dir=NETNS_DIR,
                )

            node_a_driver, node_b_driver = driver("a"), driver("b")
            for _ in range(MOVES):
                ref = ClaimRef("bench", "fip", str(uuid.uuid4()))
                claims[ref.uid] = fip_claim(ref, "pod-a")
                assert node_a_driver.prepare([ref])[ref.uid].error is None
                node_a_driver.attach_pod("pod-a", str(NETNS_DIR / pod_a))
                started = time.perf_counter()
                node_a_driver.detach_pod("pod-a", str(NETNS_DIR / pod_a))
                node_a_driver.unprepare([ref])
                withdrawn = time.perf_counter()
                claims[ref.uid] = fip_claim(ref, "pod-b")
                answer = on_b(lambda r=ref: node_b_driver.prepare([r])[r.uid])
                assert answer.error is None, answer.error
                on_b(lambda: node_b_driver.attach_pod("pod-b", str(NETNS_DIR / pod_b)))
                done = time.perf_counter()
                withdraw.append((withdrawn - started) * 1000)
                announce.append((done - withdrawn) * 1000)
                on_b(lambda: node_b_driver.detach_pod("pod-b", str(NETNS_DIR / pod_b)))
                on_b(lambda r=ref: node_b_driver.unprepare([r]))
    finally:
        FORWARDING.write_text(host_forwarding)
        for name in (pod_a, pod_b, node_b):
            subprocess.run(["ip", "netns", "del", name], check=False)
    total = [w + a for w, a in zip(withdraw, announce, strict=True)]
    print(f"{MOVES} moves of one floating IP between two nodes; milliseconds")
    for label, samples in (("withdraw on A", withdraw), ("announce on B", announce)):
        print(
            f"  {label}: p50 {percentile(samples, 50):.2f}  p99 {percentile(samples, 99):.2f}"
            f"  mean {statistics.fmean(samples):.2f}"
        )
    print(f"  move total: p50 {percentile(total, 50):.2f}  p99 {percentile(total, 99):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
