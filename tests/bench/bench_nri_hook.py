"""RunPodSandbox hook latency with the real driver: what containerd waits for per pod.

A fake runtime (the unit tests' one) calls our NRI plugin over the real unix socket; behind it
is the real Driver with claims prepared beforehand (as kubelet does before the sandbox), so each
RunPodSandbox moves a veth or macvlan into a fresh network namespace and sets its MTU, MAC,
address and a route. containerd drops a plugin that takes more than 2 s; target P99 <= 100 ms.
"""

from __future__ import annotations

import logging
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "agent" / "nri"))

from bench_prepare import POOL, claim_json, percentile
from nri_fake_runtime import FakeRuntime, pod

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent.driver import Driver
from netclaim_agent.model import ClaimRef, DeviceKind, Injection, InventoryDevice
from netclaim_agent.nri import NriPlugin, PluginConfig

SANDBOXES = 200
NETNS_DIR = Path("/var/run/netns")


def pod_uid(claim: dict[str, Any]) -> str:
    return str(claim["status"]["reservedFor"][0]["uid"])


def with_route(claim: dict[str, Any]) -> dict[str, Any]:
    config = claim["status"]["allocation"]["devices"]["config"][0]["opaque"]["parameters"]
    config["interface"]["routes"] = [{"to": "10.200.0.0/16", "via": "10.98.0.254"}]
    return claim


def run(kind: str, parent: str, tag: str) -> None:
    device = "veth" if kind == "veth" else f"macvlan-{parent}"
    inventory = {
        "veth": InventoryDevice("veth", DeviceKind.VETH, slots=1024),
        f"macvlan-{parent}": InventoryDevice(
            f"macvlan-{parent}", DeviceKind.MACVLAN, ifname=parent, slots=1024
        ),
    }
    claims: dict[str, dict[str, Any]] = {}
    netns = [f"nchook{tag}-{i}" for i in range(SANDBOXES)]
    with tempfile.TemporaryDirectory(prefix="ncbench") as tmp:
        root = Path(tmp)
        driver = Driver(
            node_name=POOL,
            fetch_claim=lambda ref: claims[ref.uid],
            inventory=inventory.get,
            state_dir=root / "state",
            cdi_dir=root / "cdi",
            injection=Injection.NRI,
            netns_dir=NETNS_DIR,
        )
        refs = [ClaimRef("bench", f"c{i}", str(uuid.uuid4())) for i in range(SANDBOXES)]
        for i, ref in enumerate(refs):
            claims[ref.uid] = with_route(claim_json(ref, device, kind, i))
        for ref, answer in driver.prepare(refs).items():
            if answer.error:
                raise SystemExit(f"prepare {ref} failed: {answer.error}")
        runtime = FakeRuntime(root / "nri.sock")
        plugin = NriPlugin(driver, PluginConfig(socket_path=str(runtime.path)))
        plugin.start()
        run_ms, stop_ms = [], []
        try:
            for name in netns:
                subprocess.run(["ip", "netns", "add", name], check=True)
            connection = runtime.handshake()
            sandboxes = [
                pod(pod_uid(claims[ref.uid]), str(NETNS_DIR / name), f"p{i}", "bench")
                for i, (ref, name) in enumerate(zip(refs, netns, strict=True))
            ]
            for sandbox in sandboxes:
                started = time.perf_counter()
                answer = connection.call("RunPodSandbox", api_pb2.RunPodSandboxRequest(pod=sandbox))
                run_ms.append((time.perf_counter() - started) * 1000)
                if answer.code != 0:
                    raise SystemExit(f"RunPodSandbox {sandbox.name} failed: {answer.message}")
            for sandbox in sandboxes:
                started = time.perf_counter()
                connection.call("StopPodSandbox", api_pb2.StopPodSandboxRequest(pod=sandbox))
                connection.call("RemovePodSandbox", api_pb2.RemovePodSandboxRequest(pod=sandbox))
                stop_ms.append((time.perf_counter() - started) * 1000)
        finally:
            plugin.stop()
            runtime.close()
            for name in netns:
                subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
            driver.unprepare(refs)
    print(
        f"  {kind:8} RunPodSandbox p50 {percentile(run_ms, 50):6.2f}  p99 "
        f"{percentile(run_ms, 99):6.2f}  mean {statistics.fmean(run_ms):6.2f}  max "
        f"{max(run_ms):6.2f}"
    )
    print(
        f"  {kind:8} Stop+Remove   p50 {percentile(stop_ms, 50):6.2f}  p99 "
        f"{percentile(stop_ms, 99):6.2f}  mean {statistics.fmean(stop_ms):6.2f}  max "
        f"{max(stop_ms):6.2f}"
    )


def main() -> int:
    logging.basicConfig(level=logging.WARNING)  # one INFO line per hook would dominate
    tag = secrets.token_hex(2)
    parent = f"ncbh{tag}"
    subprocess.run(
        ["ip", "link", "add", parent, "type", "veth", "peer", "name", f"{parent}x"], check=True
    )
    subprocess.run(["ip", "link", "set", parent, "up"], check=True)
    print(f"{SANDBOXES} sandboxes per kind, real driver and netlink; milliseconds per hook call")
    try:
        for kind in ("veth", "macvlan"):
            run(kind, parent, tag)
    finally:
        subprocess.run(["ip", "link", "del", parent], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
