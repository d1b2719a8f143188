"""Leader election over a coordination.k8s.io Lease, as client-go does it.

Expiry is judged by this process's monotonic clock from the moment it last saw the lease
change, never by comparing the holder's timestamps with our wall clock, so clock skew between
replicas cannot make two of them leaders at once."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient, CoordinationV1Api, V1Lease
from kubernetes.client.exceptions import ApiException

from netclaim_agent.publisher import PublishError, api_call

log = logging.getLogger(__name__)

NOT_FOUND, CONFLICT = 404, 409


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        api_client: ApiClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_seconds: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = CoordinationV1Api(api_client)
        self.namespace, self.name, self.identity = namespace, name, identity
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._seen: tuple[str, str] | None = None
        self._seen_at = 0.0
        self.leading = False

    def step(self) -> bool:
        """Acquire or renew the lease once; whether this process leads now."""
        try:
            leading = self._step()
        except PublishError as exc:
            log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
            leading = False
        if leading != self.leading:
            log.info(
                "%s leadership of lease %s/%s",
                "acquired" if leading else "lost",
                self.namespace,
                self.name,
            )
        self.leading = leading
        return leading

    def release(self) -> None:
        """Give the lease up on a clean shutdown so another replica takes over at once."""
        if not self.leading:
            return
        try:
            lease = self._read()
            if lease is not None and lease["spec"].get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = None
                self._replace(lease)
        except PublishError as exc:
            log.warning("releasing lease %s/%s: %s", self.namespace, self.name, exc)
        self.leading = False

    def _step(self) -> bool:
        lease = self._read()
        if lease is None:
            return self._create()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, str(spec.get("renewTime") or ""))
        if record != self._seen:
            self._seen, self._seen_at = record, self._clock()
        duration = int(spec.get("leaseDurationSeconds") or self.lease_seconds)
        if holder and holder != self.identity and self._clock() - self._seen_at < duration:
            return False
        now = _now()
        if holder != self.identity:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(
            holderIdentity=self.identity, leaseDurationSeconds=self.lease_seconds, renewTime=now
        )
        lease["spec"] = spec
        return self._replace(lease)

    def _read(self) -> dict[str, Any] | None:
        try:
            return api_call(
                "read Lease",
                lambda: self._api.read_namespaced_lease(
                    self.name, self.namespace, _preload_content=False
                ),
            )
        except PublishError as exc:
            if _status(exc) == NOT_FOUND:
                return None
            raise

    def _create(self) -> bool:
        now = _now()
        body = V1Lease.model_validate(
            {
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": self.lease_seconds,
                    "acquireTime": now,
                    "renewTime": now,
                    "leaseTransitions": 0,
                },
            }
        )
        try:
            api_call(
                "create Lease",
                lambda: self._api.create_namespaced_lease(
                    self.namespace, body, _preload_content=False
                ),
            )
        except PublishError as exc:
            if _status(exc) == CONFLICT:
                return False
            raise
        return True

    def _replace(self, lease: dict[str, Any]) -> bool:
        body = V1Lease.model_validate(lease)
        try:
            api_call(
                "update Lease",
                lambda: self._api.replace_namespaced_lease(
                    self.name, self.namespace, body, _preload_content=False
                ),
            )
        except PublishError as exc:
            if _status(exc) == CONFLICT:
                return False  # another replica wrote first; judge again next step
            raise
        return True


def _status(exc: PublishError) -> int | None:
    cause = exc.__cause__
    return cause.status if isinstance(cause, ApiException) else None
