"""The DRA node service's logic, shared by the v1 and v1beta1 gRPC services.

Servicers are thin: they convert messages, time the call, and hand the claims to the
`Preparer`. A batch call never fails as a whole: each claim gets its own answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from netclaim_agent import metrics
from netclaim_agent.model import ClaimRef, NetworkData, PrepareResult

log = logging.getLogger(__name__)


class Preparer(Protocol):
    """What the DRA service needs from the driver core (netclaim_agent.driver.Driver)."""

    def prepare(self, claims: Sequence[ClaimRef]) -> dict[str, PrepareResult]: ...

    def unprepare(self, claims: Sequence[ClaimRef]) -> dict[str, str | None]: ...


StatusSink = Callable[[ClaimRef, Sequence[NetworkData]], None]


def _refs(request: Any) -> list[ClaimRef]:
    return [ClaimRef(namespace=c.namespace, name=c.name, uid=c.uid) for c in request.claims]


class DraCore:
    def __init__(self, preparer: Preparer, report_status: StatusSink | None = None) -> None:
        self._preparer = preparer
        self._report_status = report_status

    def prepare(self, request: Any, response: Any, *, with_share_id: bool) -> None:
        """Fill `response` (a NodePrepareResourcesResponse of either version)."""
        refs = _refs(request)
        started = time.perf_counter()
        results = self._preparer.prepare(refs)
        seconds = time.perf_counter() - started
        failed = 0
        for ref in refs:
            result = results.get(ref.uid) or PrepareResult(error="no result from the driver")
            answer = response.claims[ref.uid]
            # Claims of one call are prepared together; each is observed with the call's time.
            metrics.observe("dra", "claim_prepare", error=result.error is not None, seconds=seconds)
            if result.error is not None:
                failed += 1
                answer.error = result.error
                continue
            for device in result.devices:
                out = answer.devices.add()
                out.request_names.extend(device.request_names)
                out.pool_name = device.pool_name
                out.device_name = device.device_name
                out.cdi_device_ids.extend(device.cdi_device_ids)
                if with_share_id and device.share_id:
                    out.share_id = device.share_id
            if self._report_status is not None:
                self._report_status(ref, result.network)
        metrics.observe("dra", "node_prepare_resources", error=failed > 0, seconds=seconds)
        log.info(
            "NodePrepareResources: %d claim(s), %d failed, %.1f ms",
            len(refs),
            failed,
            seconds * 1000,
        )

    def unprepare(self, request: Any, response: Any) -> None:
        refs = _refs(request)
        started = time.perf_counter()
        errors = self._preparer.unprepare(refs)
        seconds = time.perf_counter() - started
        failed = 0
        for ref in refs:
            error = errors.get(ref.uid)
            metrics.observe("dra", "claim_unprepare", error=error is not None, seconds=seconds)
            answer = response.claims[ref.uid]
            if error is not None:
                failed += 1
                answer.error = error
        metrics.observe("dra", "node_unprepare_resources", error=failed > 0, seconds=seconds)
        log.info(
            "NodeUnprepareResources: %d claim(s), %d failed, %.1f ms",
            len(refs),
            failed,
            seconds * 1000,
        )
