"""The controller process: one active replica (Lease), woken by watches, resynced on a timer.

Only the leader writes. A replica that cannot renew within the lease stops writing before
another can take over, because it renews every `renew_every` seconds and judges its own
leadership by the same lease duration."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from kubernetes import watch
from kubernetes.client import ApiClient, CustomObjectsApi, ResourceV1Api

from netclaim_agent import apiclient
from netclaim_agent.controller.events import EventRecorder
from netclaim_agent.controller.lease import LeaderElector
from netclaim_agent.controller.networks import NetworkController
from netclaim_agent.fip.pool_publisher import PoolPublisher
from netclaim_agent.publisher import api_call

log = logging.getLogger(__name__)

WATCH_SECONDS = 240


@dataclass(frozen=True)
class ControllerSettings:
    kubeconfig: str | None
    lease_namespace: str = "kube-system"
    lease_name: str = "netclaim-controller"
    identity: str = ""
    lease_seconds: int = 10
    renew_every: float = 2.0
    resync: float = 30.0


class Controller:
    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._kick = threading.Event()

    def run(self) -> int:
        s = self.settings
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        api = apiclient.load_api_client(s.kubeconfig)
        identity = s.identity or f"{socket.gethostname()}_{os.getpid()}"
        elector = LeaderElector(
            api, s.lease_namespace, s.lease_name, identity, lease_seconds=s.lease_seconds
        )
        events = EventRecorder(api)
        networks = NetworkController(api, events)
        pools = PoolPublisher(api, events)
        resource = ResourceV1Api(api)
        for target in _watch_targets(api):
            threading.Thread(
                target=self._watch_forever, args=target, name="controller-watch", daemon=True
            ).start()
        log.info(
            "netclaim controller %s: waiting for lease %s/%s",
            identity,
            s.lease_namespace,
            s.lease_name,
        )
        next_pass = 0.0
        try:
            while not self._stop.is_set():
                leading = elector.step()
                due = self._kick.is_set() or time.monotonic() >= next_pass
                if leading and due:
                    self._kick.clear()
                    next_pass = time.monotonic() + s.resync
                    if not self._reconcile(resource, networks, pools):
                        next_pass = time.monotonic() + s.renew_every
                # A leader wakes early for watch events; a candidate only re-checks the lease.
                if leading:
                    self._kick.wait(s.renew_every)
                else:
                    self._stop.wait(s.renew_every)
        finally:
            elector.release()
        return 0

    def _reconcile(
        self, resource: ResourceV1Api, networks: NetworkController, pools: PoolPublisher
    ) -> bool:
        """One pass over PodNetworks and FloatingIPPools; each goes on if the other fails (a
        CRD not installed yet, say). False when any part failed, for an early retry."""
        ok = True
        try:
            listed = api_call(
                "list ResourceClaims",
                lambda: resource.list_resource_claim_for_all_namespaces(_preload_content=False),
            )
        except Exception:
            log.exception("listing ResourceClaims failed; retrying")
            return False
        # One list of claims serves both passes.
        claims = listed.get("items") or []
        try:
            networks.reconcile_all(claims)
        except Exception:
            log.exception("PodNetwork pass failed; retrying")
            ok = False
        try:
            pools.reconcile_all(claims)
        except Exception:
            log.exception("FloatingIPPool pass failed; retrying")
            ok = False
        return ok

    def _watch_forever(self, what: str, list_call: Callable[..., Any], *args: str) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                stream = watch.Watch()  # type: ignore[no-untyped-call]
                for _ in stream.stream(list_call, *args, timeout_seconds=WATCH_SECONDS):  # type: ignore[no-untyped-call]
                    self._kick.set()
                    backoff = 1.0
            except Exception as exc:
                log.debug("watch of %s ended (again in %.0f s): %s", what, backoff, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self._stop.set()
        self._kick.set()


def _watch_targets(api: ApiClient) -> list[tuple[Any, ...]]:
    custom, resource = CustomObjectsApi(api), ResourceV1Api(api)
    return [
        (
            "PodNetworks",
            custom.list_cluster_custom_object,
            "netclaim.io",
            "v1alpha1",
            "podnetworks",
        ),
        (
            "FloatingIPPools",
            custom.list_cluster_custom_object,
            "netclaim.io",
            "v1alpha1",
            "floatingippools",
        ),
        ("ResourceSlices", resource.list_resource_slice),
        ("ResourceClaims", resource.list_resource_claim_for_all_namespaces),
        ("DeviceClasses", resource.list_device_class),
    ]
