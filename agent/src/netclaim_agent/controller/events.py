"""Kubernetes Events from the controller, each said once: a condition that persists is not
repeated every pass (`kubectl describe` would drown in copies)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from typing import Any

from kubernetes.client import ApiClient, CoreV1Api, CoreV1Event

from netclaim_agent.publisher import PublishError, api_call

log = logging.getLogger(__name__)

COMPONENT = "netclaim-controller"
REPEAT_AFTER = 600.0
"""A still-true warning is said again after this long (Events expire after an hour)."""


class EventRecorder:
    def __init__(self, api_client: ApiClient, default_namespace: str = "default") -> None:
        self._core = CoreV1Api(api_client)
        self._namespace = default_namespace
        self._said: dict[tuple[str, str], tuple[str, float]] = {}

    def emit(
        self, obj: Mapping[str, Any], kind: str, level: str, reason: str, message: str
    ) -> None:
        """`level` is Normal or Warning; `obj` a raw object of `kind` (with apiVersion)."""
        meta = obj["metadata"]
        key = (str(meta.get("uid")), reason)
        said = self._said.get(key)
        if said is not None and said[0] == message and time.monotonic() - said[1] < REPEAT_AFTER:
            return
        self._said[key] = (message, time.monotonic())
        namespace = meta.get("namespace") or self._namespace
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = CoreV1Event.model_validate(
            {
                "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
                "involvedObject": {
                    "apiVersion": obj.get("apiVersion"),
                    "kind": kind,
                    "name": meta["name"],
                    "namespace": meta.get("namespace"),
                    "uid": meta.get("uid"),
                },
                "type": level,
                "reason": reason,
                "message": message[:1024],
                "source": {"component": COMPONENT},
                "reportingComponent": COMPONENT,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
            }
        )
        try:
            api_call(
                f"create Event for {kind} {meta['name']}",
                lambda: self._core.create_namespaced_event(namespace, body, _preload_content=False),
            )
        except PublishError as exc:
            log.warning("%s", exc)

    def forget(self, uid: str) -> None:
        for key in [k for k in self._said if k[0] == uid]:
            del self._said[key]
