"""The node agent's view of the PodNetworks: a list-then-watch cache that wakes the publisher.

A broken watch (API server restart, expired resourceVersion, CRD not installed yet) is
relisted after a bounded back-off; until then the last known networks stay in effect, so a
flaky API server never untags devices."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, cast

from kubernetes import watch
from kubernetes.client import ApiClient, CustomObjectsApi

from netclaim_agent.podnet.networks import GROUP, PLURAL, VERSION, NetworkError, NetworkSpec

log = logging.getLogger(__name__)

WATCH_SECONDS = 240
MAX_BACKOFF = 30.0
FIRST_LIST_WAIT = 5.0
"""How long a lookup right after start waits for the first list (a Prepare that comes first
would otherwise fail once for a network that exists)."""


class NetworkWatch:
    def __init__(self, api_client: ApiClient) -> None:
        self._custom = CustomObjectsApi(api_client)
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._networks: dict[str, NetworkSpec] = {}
        self._stop = threading.Event()
        self._listed = threading.Event()
        self._watch: watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, name="podnetwork-watch", daemon=True)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from the watch thread) whenever the set of networks changes."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=5)

    def get(self, name: str) -> NetworkSpec | None:
        self._listed.wait(FIRST_LIST_WAIT)
        with self._lock:
            return self._networks.get(name)

    def all(self) -> list[NetworkSpec]:
        with self._lock:
            return sorted(self._networks.values(), key=lambda n: n.name)

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                version = self._relist()
                backoff = 1.0
                self._follow(version)
            except Exception as exc:
                # A watch the API server ends early is routine; failing again right after
                # relisting is not.
                level = logging.INFO if backoff == 1.0 else logging.WARNING
                log.log(level, "watching PodNetworks ended (again in %.0f s): %s", backoff, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _relist(self) -> str:
        listed = cast(
            dict[str, Any], self._custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        )
        fresh = {}
        for obj in listed.get("items") or []:
            spec = _parse(obj)
            if spec is not None:
                fresh[spec.name] = spec
        self._replace(fresh)
        self._listed.set()
        return str(listed["metadata"].get("resourceVersion", ""))

    def _follow(self, version: str) -> None:
        self._watch = watch.Watch()  # type: ignore[no-untyped-call]
        for event in self._watch.stream(  # type: ignore[no-untyped-call]
            self._custom.list_cluster_custom_object,
            GROUP,
            VERSION,
            PLURAL,
            resource_version=version,
            timeout_seconds=WATCH_SECONDS,
        ):
            if self._stop.is_set():
                return
            kind, obj = event["type"], event["object"]
            if kind == "ERROR":
                raise RuntimeError(f"watch error: {obj.get('message', obj)}")
            name = str(obj["metadata"]["name"])
            fresh = dict(self._networks)
            spec = _parse(obj) if kind != "DELETED" else None
            if spec is None:
                fresh.pop(name, None)
            else:
                fresh[name] = spec
            self._replace(fresh)

    def _replace(self, fresh: dict[str, NetworkSpec]) -> None:
        with self._lock:
            changed = fresh != self._networks
            self._networks = fresh
        if changed:
            for listener in self._listeners:
                listener()


def _parse(obj: dict[str, Any]) -> NetworkSpec | None:
    try:
        return NetworkSpec.from_object(obj)
    except NetworkError as exc:
        # The controller reports it in the network's status; here it just tags nothing.
        log.debug("PodNetwork %s ignored: %s", obj["metadata"].get("name"), exc)
        return None
