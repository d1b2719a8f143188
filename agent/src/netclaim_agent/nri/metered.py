"""Counting and timing the NRI hooks without the hooks knowing about metrics."""

from __future__ import annotations

from netclaim_agent import metrics
from netclaim_agent.nri.sandbox import SandboxHandler


class MeteredHandler:
    """A SandboxHandler that observes each hook of the handler it wraps."""

    def __init__(self, inner: SandboxHandler) -> None:
        self._inner = inner

    def attach_pod(
        self, pod_uid: str, netns_path: str, pod_name: str = "", pod_namespace: str = ""
    ) -> None:
        with metrics.timed("nri", "run_pod_sandbox"):
            self._inner.attach_pod(pod_uid, netns_path, pod_name, pod_namespace)

    def detach_pod(self, pod_uid: str, netns_path: str | None) -> None:
        with metrics.timed("nri", "stop_pod_sandbox"):
            self._inner.detach_pod(pod_uid, netns_path)

    def forget_pod(self, pod_uid: str) -> None:
        with metrics.timed("nri", "remove_pod_sandbox"):
            self._inner.forget_pod(pod_uid)
