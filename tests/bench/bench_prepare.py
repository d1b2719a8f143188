"""Prepare+Unprepare latency over the real DRA gRPC socket, and the agent's idle RSS.

Kubelet's side is played by a gRPC client on the agent's unix socket; the driver is the real
one (checkpoint, CDI specs, netlink). Claims are served from memory, so the figures exclude
the API server GET that a real Prepare also makes (measured apart as `claim GET`) when the
local test node is up. Targets: Prepare P99 <= 50 ms, idle RSS <= 60 MB."""

from __future__ import annotations

import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc

from netclaim_agent import DRIVER_NAME
from netclaim_agent._proto.kubelet import dra_v1_pb2, dra_v1_pb2_grpc
from netclaim_agent.driver import Driver
from netclaim_agent.kubelet.core import DraCore
from netclaim_agent.kubelet.plugin import KubeletPlugin, SocketPaths
from netclaim_agent.model import ClaimRef, DeviceKind, Injection, InventoryDevice

CLAIMS = 200
POOL = "bench-node"


def claim_json(ref: ClaimRef, device: str, kind: str, index: int) -> dict[str, Any]:
    config = {
        "apiVersion": "netclaim.io/v1alpha1",
        "kind": "NetworkConfig",
        "device": {"kind": kind},
        "interface": {
            "name": "net1",
            "mtu": 1400,
            "addresses": [f"10.98.{index // 250}.{index % 250 + 1}/16"],
        },
    }
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"namespace": "bench", "name": ref.name, "uid": ref.uid},
        "status": {
            "allocation": {
                "devices": {
                    "results": [
                        {
                            "request": "net",
                            "driver": DRIVER_NAME,
                            "pool": POOL,
                            "device": device,
                            "shareID": str(uuid.uuid4()),
                        }
                    ],
                    "config": [
                        {
                            "source": "FromClaim",
                            "requests": ["net"],
                            "opaque": {"driver": DRIVER_NAME, "parameters": config},
                        }
                    ],
                }
            },
            "reservedFor": [{"resource": "pods", "name": f"p{index}", "uid": str(uuid.uuid4())}],
        },
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(kind: str, injection: Injection, parent: str) -> None:
    device = "veth" if kind == "veth" else f"macvlan-{parent}"
    inventory = {
        "veth": InventoryDevice("veth", DeviceKind.VETH, slots=1024),
        f"macvlan-{parent}": InventoryDevice(
            f"macvlan-{parent}", DeviceKind.MACVLAN, ifname=parent, slots=1024
        ),
    }
    claims: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="ncbench") as tmp:
        root = Path(tmp)
        driver = Driver(
            node_name=POOL,
            fetch_claim=lambda ref: claims[ref.uid],
            inventory=inventory.get,
            state_dir=root / "state",
            cdi_dir=root / "cdi",
            injection=injection,
        )
        paths = SocketPaths(dra=root / "dra.sock", registration=root / "reg.sock")
        plugin = KubeletPlugin(DraCore(driver), paths)
        plugin.start()
        prepare, unprepare = [], []
        try:
            with grpc.insecure_channel(f"unix://{paths.dra}") as channel:
                stub = dra_v1_pb2_grpc.DRAPluginStub(channel)
                for i in range(CLAIMS):
                    ref = ClaimRef("bench", f"c{i}", str(uuid.uuid4()))
                    claims[ref.uid] = claim_json(ref, device, kind, i)
                    msg = [dra_v1_pb2.Claim(namespace=ref.namespace, name=ref.name, uid=ref.uid)]
                    t0 = time.perf_counter()
                    answer = stub.NodePrepareResources(
                        dra_v1_pb2.NodePrepareResourcesRequest(claims=msg), timeout=45
                    )
                    prepare.append(time.perf_counter() - t0)
                    if answer.claims[ref.uid].error:
                        raise SystemExit(f"prepare failed: {answer.claims[ref.uid].error}")
                    t0 = time.perf_counter()
                    stub.NodeUnprepareResources(
                        dra_v1_pb2.NodeUnprepareResourcesRequest(claims=msg), timeout=45
                    )
                    unprepare.append(time.perf_counter() - t0)
        finally:
            plugin.stop()
    ms = 1000
    print(
        f"{kind:8} {injection.value:4} prepare   p50 {percentile(prepare, 50) * ms:6.2f} ms"
        f"  p99 {percentile(prepare, 99) * ms:6.2f} ms  (n={len(prepare)})"
    )
    print(
        f"{kind:8} {injection.value:4} unprepare p50 {percentile(unprepare, 50) * ms:6.2f} ms"
        f"  p99 {percentile(unprepare, 99) * ms:6.2f} ms  mean "
        f"{statistics.mean(unprepare) * ms:.2f} ms"
    )


def idle_rss_mb() -> float | None:
    """RSS of a real agent process after start-up, if the local test node is up."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))
    from testbed import node  # noqa: PLC0415
    from testbed.layout import default_layout  # noqa: PLC0415

    layout = default_layout()
    if not node.is_up(layout):
        print("idle RSS: skipped (local test node is not up: make cluster-up)")
        return None
    with tempfile.TemporaryDirectory(prefix="ncbench") as tmp:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "netclaim_agent",
                "node",
                "--node-name",
                "127.0.0.1",
                "--kubeconfig",
                str(layout.pki / "netclaim-agent.kubeconfig"),
                "--state-dir",
                tmp,
                "--metrics-port",
                "0",
                "--injection",
                "cdi",
                "--kubelet-plugins-dir",
                f"{tmp}/plugins",
                "--kubelet-registry-dir",
                f"{tmp}/registry",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(8)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss_kb = int(
                next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]
            )
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return rss_kb / 1024


def main() -> None:
    parent = f"ncbp{secrets.token_hex(3)}"
    subprocess.run(
        ["ip", "link", "add", parent, "type", "veth", "peer", "name", f"{parent}x"], check=True
    )
    subprocess.run(["ip", "link", "set", parent, "up"], check=True)
    try:
        for kind in ("veth", "macvlan"):
            for injection in (Injection.NRI, Injection.CDI):
                run(kind, injection, parent)
    finally:
        subprocess.run(["ip", "link", "del", parent], check=False)
    rss = idle_rss_mb()
    if rss is not None:
        print(f"idle RSS of netclaim-agent node: {rss:.1f} MB")
    print(json.dumps({"claims_per_run": CLAIMS}))


if __name__ == "__main__":
    main()
