"""NRI transport overhead: RunPodSandbox round trips through the real unix socket.

A fake runtime (the unit tests' one) drives our plugin with a handler that does nothing, so the
figures are mux + ttrpc + protobuf + thread hand-offs only. containerd's default deadline for
one plugin call is 2 s; the transport should be a small fraction of a millisecond of that.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "agent" / "nri"))

from nri_fake_runtime import FakeRuntime, pod

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent.nri import NriPlugin, PluginConfig

SANDBOXES = 500
WARMUP = 20


class NoopHandler:
    def attach_pod(
        self, pod_uid: str, netns_path: str, pod_name: str = "", pod_namespace: str = ""
    ) -> None:
        pass

    def detach_pod(self, pod_uid: str, netns_path: str | None) -> None:
        pass

    def forget_pod(self, pod_uid: str) -> None:
        pass


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(chunk: int, method: str) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = FakeRuntime(Path(tmp) / "nri.sock", chunk=chunk)
        plugin = NriPlugin(NoopHandler(), PluginConfig(socket_path=str(runtime.path)))
        plugin.start()
        try:
            connection = runtime.handshake()
            samples = []
            for i in range(WARMUP + SANDBOXES):
                sandbox = pod(f"uid-{i}", f"/var/run/netns/cni-{i}")
                request = (
                    api_pb2.RunPodSandboxRequest(pod=sandbox)
                    if method == "RunPodSandbox"
                    else api_pb2.StateChangeEvent(event=api_pb2.RUN_POD_SANDBOX, pod=sandbox)
                )
                started = time.perf_counter()
                answer = connection.call(method, request)
                elapsed = time.perf_counter() - started
                assert answer.code == 0, answer.message
                if i >= WARMUP:
                    samples.append(elapsed * 1000)
            return samples
        finally:
            plugin.stop()
            runtime.close()


def main() -> int:
    logging.basicConfig(level=logging.WARNING)  # one INFO line per hook would dominate
    print(f"{SANDBOXES} sandboxes each, after {WARMUP} warm-up calls; milliseconds")
    for method, chunk, label in (
        ("RunPodSandbox", 4096, "RunPodSandbox, 4 KiB mux chunks (as Go writes)"),
        ("StateChange", 4096, "StateChange(RUN_POD_SANDBOX), 4 KiB chunks"),
        ("RunPodSandbox", 7, "RunPodSandbox, 7-byte mux chunks (worst-case reassembly)"),
    ):
        samples = measure(chunk, method)
        print(
            f"  {label}: p50 {percentile(samples, 0.50):.3f}  p99 {percentile(samples, 0.99):.3f}"
            f"  mean {statistics.fmean(samples):.3f}  max {max(samples):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
