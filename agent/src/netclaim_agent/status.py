"""Report prepared devices in `ResourceClaim.status.devices[]` (interface, MAC, IPs, Ready).

Writes happen on a background thread after Prepare has answered kubelet, so a slow or
failing API server never delays a pod; failed writes are retried a bounded number of times."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
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


def merged_devices(
    current: Sequence[Mapping[str, Any]], ours: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Other drivers' entries unchanged, this driver's replaced by `ours`."""
    kept = [dict(d) for d in current if d.get("driver") != DRIVER_NAME]
    return kept + [dict(d) for d in ours]


def _api_message(exc: ApiException) -> str:
    """The API server's own explanation (which field, why) from an error response."""
    try:
        return str(json.loads(exc.body or "{}").get("message", exc.body))
    except ValueError:
        return str(exc.body)


UNPROCESSABLE = 422


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
        """Set `status.devices`, guarded by the resourceVersion read, leaving the allocation as is.

        The allocation's opaque config is a RawExtension that the API server compares byte for
        byte with what it stored, and `status.allocation` may not change. Server-side apply is
        rejected on 1.37 once the scheduler wrote consumedCapacity. A JSON Patch works when the
        stored bytes are compact JSON (kubectl, Go clients): the server re-encodes the object
        compactly to patch it. Otherwise (the Python client's spacing) a full status update
        sends them back as this client encodes them, which then matches."""
        api: Any = self._resource
        response = api.read_namespaced_resource_claim(
            ref.name, ref.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
        claim = json.loads(response.data)
        if claim["metadata"].get("uid") != ref.uid:
            return  # replaced by a claim of the same name: not ours to report on
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = claim.setdefault("status", {})
        status["devices"] = merged_devices(
            status.get("devices") or [], [device_status(d, now) for d in network]
        )
        patch = [
            # A concurrent writer's change fails the test (retried), instead of being lost.
            {
                "op": "test",
                "path": "/metadata/resourceVersion",
                "value": claim["metadata"]["resourceVersion"],
            },
            {"op": "add", "path": "/status/devices", "value": status["devices"]},
        ]
        try:
            api.patch_namespaced_resource_claim_status(
                ref.name,
                ref.namespace,
                patch,
                _content_type="application/json-patch+json",
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as exc:
            if exc.status != UNPROCESSABLE or "status.allocation" not in str(exc.body):
                raise
            api.replace_namespaced_resource_claim_status(
                ref.name,
                ref.namespace,
                claim,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        log.info(
            "claim %s: status reports %s",
            ref,
            ", ".join(f"{d.interface_name} {' '.join(d.ips)}".strip() for d in network),
        )
