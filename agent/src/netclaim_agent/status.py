"""Report prepared devices in `ResourceClaim.status.devices[]` (interface, MAC, IPs, Ready).

Writes happen on a background thread after Prepare has answered kubelet, so a slow or
failing API server never delays a pod; failed writes are retried a bounded number of times."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from netclaim_agent import DRIVER_NAME, metrics
from netclaim_agent.apiclient import REQUEST_TIMEOUT
from netclaim_agent.model import ClaimRef, NetworkData

log = logging.getLogger(__name__)

_ATTEMPTS = 5
_RETRY_DELAY = 1.0


def device_status(data: NetworkData, now: str) -> dict[str, Any]:
    """One `status.devices[]` entry, owned by this driver through server-side apply."""
    network: dict[str, Any] = {"interfaceName": data.interface_name, "ips": list(data.ips)}
    if data.hardware_address:
        network["hardwareAddress"] = data.hardware_address
    entry: dict[str, Any] = {
        "driver": DRIVER_NAME,
        "pool": data.pool_name,
        "device": data.device_name,
        "networkData": network,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Prepared",
                "message": f"interface {data.interface_name} prepared by {DRIVER_NAME}",
                "lastTransitionTime": now,
            }
        ],
    }
    if data.share_id:
        entry["shareID"] = data.share_id
    return entry


def status_patch(ref: ClaimRef, network: Sequence[NetworkData]) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaim",
        "metadata": {"name": ref.name, "namespace": ref.namespace},
        "status": {"devices": [device_status(d, now) for d in network]},
    }


def _api_message(exc: ApiException) -> str:
    """The API server's own explanation (which field, why) from an error response."""
    try:
        return str(json.loads(exc.body or "{}").get("message", exc.body))
    except ValueError:
        return str(exc.body)


class StatusWriter:
    """A queue of claim status writes drained by one thread; `stop()` drops what is left."""

    def __init__(self, api: client.ApiClient) -> None:
        self._resource = client.ResourceV1Api(api)
        self._queue: queue.Queue[tuple[ClaimRef, tuple[NetworkData, ...]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="claim-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def submit(self, ref: ClaimRef, network: Sequence[NetworkData]) -> None:
        if network:
            self._queue.put((ref, tuple(network)))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            ref, network = item
            for attempt in range(1, _ATTEMPTS + 1):
                try:
                    with metrics.timed("status", "write"):
                        self.write(ref, network)
                    break
                except ApiException as exc:
                    if exc.status == 404:  # claim deleted meanwhile: nothing to report on
                        break
                    log.warning(
                        "claim %s: status write %d/%d failed: %s %s: %s",
                        ref,
                        attempt,
                        _ATTEMPTS,
                        exc.status,
                        exc.reason,
                        _api_message(exc),
                    )
                    time.sleep(_RETRY_DELAY * attempt)
                except Exception as exc:
                    log.warning(
                        "claim %s: status write %d/%d failed: %s", ref, attempt, _ATTEMPTS, exc
                    )
                    time.sleep(_RETRY_DELAY * attempt)

    def write(self, ref: ClaimRef, network: Sequence[NetworkData]) -> None:
        self._resource.patch_namespaced_resource_claim_status(
            ref.name,
            ref.namespace,
            status_patch(ref, network),
            field_manager=DRIVER_NAME,
            force=True,
            _content_type="application/apply-patch+yaml",
            _request_timeout=REQUEST_TIMEOUT,
        )
        log.info(
            "claim %s: status reports %s",
            ref,
            ", ".join(f"{d.interface_name} {' '.join(d.ips)}".strip() for d in network),
        )
