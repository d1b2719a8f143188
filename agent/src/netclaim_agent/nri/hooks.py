"""The NRI `Plugin` service of netclaim: pod sandbox events turned into SandboxHandler calls.

Runtimes with NRI <= 0.11 (containerd 2.0-2.2) deliver pod events only through StateChange;
NRI 0.12 (containerd 2.3) calls the dedicated RPCs. Both paths end in the same three hooks.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

from google.protobuf.message import Message

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent.nri.sandbox import Sandbox, SandboxHandler
from netclaim_agent.nri.ttrpc import Code, Dispatcher, StatusError

log = logging.getLogger(__name__)

PLUGIN_SERVICE = "nri.pkg.api.v1alpha1.Plugin"
RUNTIME_SERVICE = "nri.pkg.api.v1alpha1.Runtime"

DEFAULT_REQUEST_TIMEOUT_MS = 2000  # the runtime's default, until Configure tells us

M = TypeVar("M", bound=Message)

SUBSCRIBED_EVENTS = (
    api_pb2.RUN_POD_SANDBOX,
    api_pb2.STOP_POD_SANDBOX,
    api_pb2.REMOVE_POD_SANDBOX,
)


def event_mask(events: Sequence[int]) -> int:
    """The ConfigureResponse bitmask: bit (event - 1) per subscribed event."""
    mask = 0
    for event in events:
        mask |= 1 << (event - 1)
    return mask


class PodHooks:
    """Serves the Plugin service; every SandboxHandler call goes through one lock.

    The lock keeps the re-learning after Synchronize (a background thread, so the
    Synchronize answer stays within the runtime's deadline) from racing live events.
    """

    def __init__(self, handler: SandboxHandler) -> None:
        self._handler = handler
        self._handler_lock = threading.Lock()
        self._sync_pods: list[api_pb2.PodSandbox] = []
        # UIDs stopped or removed while a re-learn runs: it must not revive them.
        self._ended_uids: set[str] = set()
        self._resync: threading.Thread | None = None
        self._resync_generation = 0
        self._stopping = threading.Event()
        self._deadline_ms = DEFAULT_REQUEST_TIMEOUT_MS

    def register(self, dispatcher: Dispatcher) -> None:
        def route(method: str, request_type: type[M], handler: Callable[[M], Message]) -> None:
            dispatcher.register(PLUGIN_SERVICE, method, request_type, handler)

        route("Configure", api_pb2.ConfigureRequest, self.configure)
        route("Synchronize", api_pb2.SynchronizeRequest, self.synchronize)
        route("Shutdown", api_pb2.Empty, self.shutdown)
        route("RunPodSandbox", api_pb2.RunPodSandboxRequest, self.run_pod_sandbox)
        route("StopPodSandbox", api_pb2.StopPodSandboxRequest, self.stop_pod_sandbox)
        route("RemovePodSandbox", api_pb2.RemovePodSandboxRequest, self.remove_pod_sandbox)
        route("StateChange", api_pb2.StateChangeEvent, self.state_change)

    # -- lifecycle RPCs -------------------------------------------------------------------
    def configure(self, request: api_pb2.ConfigureRequest) -> api_pb2.ConfigureResponse:
        log.info(
            "nri configure: runtime %s %s, NRI %s, request timeout %d ms",
            request.runtime_name,
            request.runtime_version,
            request.NRI_version or "unknown",
            request.request_timeout,
        )
        self._deadline_ms = request.request_timeout or DEFAULT_REQUEST_TIMEOUT_MS
        self._sync_pods = []
        return api_pb2.ConfigureResponse(events=event_mask(SUBSCRIBED_EVENTS))

    def synchronize(self, request: api_pb2.SynchronizeRequest) -> api_pb2.SynchronizeResponse:
        """Collect split requests; after the last one re-learn the pods in the background."""
        self._sync_pods.extend(request.pods)
        if request.more:
            return api_pb2.SynchronizeResponse(more=True)
        pods, self._sync_pods = self._sync_pods, []
        log.info("nri synchronize: %d existing pod sandboxes", len(pods))
        self._start_resync(pods)
        return api_pb2.SynchronizeResponse(more=False)

    def shutdown(self, _request: api_pb2.Empty) -> api_pb2.Empty:
        # The runtime closes the connection next; the plugin then reconnects with backoff.
        log.info("nri shutdown: the runtime is stopping")
        return api_pb2.Empty()

    # -- pod events -----------------------------------------------------------------------
    def run_pod_sandbox(
        self, request: api_pb2.RunPodSandboxRequest
    ) -> api_pb2.RunPodSandboxResponse:
        self._run(Sandbox.from_pod(request.pod), "RunPodSandbox")
        return api_pb2.RunPodSandboxResponse()

    def stop_pod_sandbox(
        self, request: api_pb2.StopPodSandboxRequest
    ) -> api_pb2.StopPodSandboxResponse:
        self._stop(Sandbox.from_pod(request.pod), "StopPodSandbox")
        return api_pb2.StopPodSandboxResponse()

    def remove_pod_sandbox(
        self, request: api_pb2.RemovePodSandboxRequest
    ) -> api_pb2.RemovePodSandboxResponse:
        self._remove(Sandbox.from_pod(request.pod), "RemovePodSandbox")
        return api_pb2.RemovePodSandboxResponse()

    def state_change(self, event: api_pb2.StateChangeEvent) -> api_pb2.Empty:
        sandbox = Sandbox.from_pod(event.pod)
        hook = {
            api_pb2.RUN_POD_SANDBOX: self._run,
            api_pb2.STOP_POD_SANDBOX: self._stop,
            api_pb2.REMOVE_POD_SANDBOX: self._remove,
        }.get(event.event)
        if hook is not None:
            hook(sandbox, f"StateChange({api_pb2.Event.Name(event.event)})")
        return api_pb2.Empty()

    def _run(self, sandbox: Sandbox, hook: str) -> None:
        netns_path = sandbox.netns_path
        if netns_path is None:
            log.info("nri %s pod %s: no network namespace (hostNetwork), skipped", hook, sandbox)
            return
        try:
            self._timed(hook, sandbox, partial(self._attach, sandbox, netns_path))
        except Exception as exc:
            # Failing the RPC fails the sandbox: better than a pod without its interfaces.
            raise StatusError(Code.UNKNOWN, f"netclaim: pod {sandbox}: {exc}") from exc

    def _stop(self, sandbox: Sandbox, hook: str) -> None:
        # Never fail a stop or remove: the pod must be able to go away; errors are logged.
        self._timed_quietly(hook, sandbox, partial(self._ended, sandbox, self._handler.detach_pod))

    def _remove(self, sandbox: Sandbox, hook: str) -> None:
        self._timed_quietly(hook, sandbox, partial(self._ended, sandbox, self._forget))

    def _forget(self, pod_uid: str, _netns_path: str | None) -> None:
        self._handler.forget_pod(pod_uid)

    def _attach(self, sandbox: Sandbox, netns_path: str) -> None:
        with self._handler_lock:
            self._ended_uids.discard(sandbox.uid)
            self._handler.attach_pod(sandbox.uid, netns_path, sandbox.name, sandbox.namespace)

    def _ended(self, sandbox: Sandbox, hook: Callable[[str, str | None], None]) -> None:
        with self._handler_lock:
            if self._resync is not None and self._resync.is_alive():
                self._ended_uids.add(sandbox.uid)  # only a running re-learn needs to know
            hook(sandbox.uid, sandbox.netns_path)

    def _timed(self, hook: str, sandbox: Sandbox, work: Callable[[], None]) -> None:
        """Run one hook and log one line with its duration (and the error, if any)."""
        started = time.monotonic()
        try:
            work()
        except Exception as exc:
            elapsed = (time.monotonic() - started) * 1000
            log.error("nri %s pod %s failed in %.2f ms: %s", hook, sandbox, elapsed, exc)
            raise
        elapsed = (time.monotonic() - started) * 1000
        # Past the runtime's deadline the runtime has already dropped us and let the pod run.
        level = logging.WARNING if elapsed > self._deadline_ms / 2 else logging.INFO
        log.log(
            level,
            "nri %s pod %s netns %s: done in %.2f ms (runtime deadline %d ms)",
            hook,
            sandbox,
            sandbox.netns_path,
            elapsed,
            self._deadline_ms,
        )

    def _timed_quietly(self, hook: str, sandbox: Sandbox, work: Callable[[], None]) -> None:
        with contextlib.suppress(Exception):  # _timed has logged it
            self._timed(hook, sandbox, work)

    # -- re-learning after Synchronize ----------------------------------------------------
    def _start_resync(self, pods: Sequence[api_pb2.PodSandbox]) -> None:
        sandboxes = [s for s in map(Sandbox.from_pod, pods) if s.netns_path is not None]
        with self._handler_lock:
            # A newer Synchronize supersedes an older re-learn still running; no waiting here,
            # the Synchronize answer has a deadline.
            self._resync_generation += 1
            generation = self._resync_generation
            self._ended_uids.clear()
        if sandboxes:
            self._resync = threading.Thread(
                target=self._resync_all,
                args=(sandboxes, generation),
                name="nri-resync",
                daemon=True,
            )
            self._resync.start()

    def _resync_all(self, sandboxes: Sequence[Sandbox], generation: int) -> None:
        for sandbox in sandboxes:
            if self._stopping.is_set() or generation != self._resync_generation:
                return
            self._timed_quietly("Synchronize", sandbox, partial(self._reattach, sandbox))

    def _reattach(self, sandbox: Sandbox) -> None:
        with self._handler_lock:
            if sandbox.uid in self._ended_uids or sandbox.netns_path is None:
                return
            self._handler.attach_pod(
                sandbox.uid, sandbox.netns_path, sandbox.name, sandbox.namespace
            )

    def wait_resync(self, timeout: float) -> None:
        resync = self._resync
        if resync is not None:
            resync.join(timeout)

    def stop(self, timeout: float) -> None:
        """Abort a running re-learn (between pods); a later Synchronize starts afresh."""
        self._stopping.set()
        self.wait_resync(timeout)
        self._stopping.clear()
