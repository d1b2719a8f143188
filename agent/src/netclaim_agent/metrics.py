"""Prometheus metrics: one counter and one latency histogram per operation, same labels.

Names follow `netclaim_<subsystem>_<op>_total{result}` and `..._duration_seconds`. Every
series is created at zero up front, so dashboards and alerts see them before the first call."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from netclaim_agent.model import DeviceKind

REGISTRY = CollectorRegistry(auto_describe=True)
RESULTS = ("success", "error")
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 45.0)


@dataclass(frozen=True)
class _Metric:
    counter: Counter
    histogram: Histogram


def _labelled(subsystem: str, op: str, doc: str, extra: tuple[str, ...]) -> _Metric:
    labels = [*extra, "result"]
    return _Metric(
        Counter(f"netclaim_{subsystem}_{op}", doc, labels, registry=REGISTRY),
        Histogram(
            f"netclaim_{subsystem}_{op}_duration_seconds",
            f"Latency: {doc}",
            labels,
            buckets=_BUCKETS,
            registry=REGISTRY,
        ),
    )


_OPS: Mapping[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("dra", "node_prepare_resources"): ("NodePrepareResources calls from kubelet", ()),
    ("dra", "node_unprepare_resources"): ("NodeUnprepareResources calls from kubelet", ()),
    ("dra", "claim_prepare"): ("Claims prepared, one per claim in a call", ()),
    ("dra", "claim_unprepare"): ("Claims unprepared, one per claim in a call", ()),
    ("nri", "run_pod_sandbox"): ("NRI RunPodSandbox hooks", ()),
    ("nri", "stop_pod_sandbox"): ("NRI StopPodSandbox hooks", ()),
    ("nri", "remove_pod_sandbox"): ("NRI RemovePodSandbox hooks", ()),
    ("publisher", "publish"): ("ResourceSlice publications", ()),
    ("status", "write"): ("ResourceClaim status writes", ()),
}
_METRICS = {key: _labelled(*key, doc, extra) for key, (doc, extra) in _OPS.items()}

for _metric in _METRICS.values():
    for _result in RESULTS:
        _metric.counter.labels(result=_result)
        _metric.histogram.labels(result=_result)


def observe(subsystem: str, op: str, *, error: bool, seconds: float) -> None:
    metric = _METRICS[(subsystem, op)]
    result = "error" if error else "success"
    metric.counter.labels(result=result).inc()
    metric.histogram.labels(result=result).observe(seconds)


@contextmanager
def timed(subsystem: str, op: str) -> Iterator[None]:
    """Observe the enclosed block: an exception counts as an error (and propagates)."""
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        observe(subsystem, op, error=True, seconds=time.perf_counter() - started)
        raise
    observe(subsystem, op, error=False, seconds=time.perf_counter() - started)


_HANDLER_OPS = ("prepare", "attach", "detach", "release")
_HANDLER = {
    op: _labelled("handler", op, f"Device handler {op} steps, by device kind", ("kind",))
    for op in _HANDLER_OPS
}
for _metric in _HANDLER.values():
    for _kind in DeviceKind:
        for _result in RESULTS:
            _metric.counter.labels(kind=_kind.value, result=_result)
            _metric.histogram.labels(kind=_kind.value, result=_result)


@contextmanager
def handler_step(op: str, kind: DeviceKind) -> Iterator[None]:
    """Observe one device handler step (prepare, attach, detach, release) of one kind."""
    metric = _HANDLER[op]
    started = time.perf_counter()
    result = "error"
    try:
        yield
        result = "success"
    finally:
        metric.counter.labels(kind=kind.value, result=result).inc()
        metric.histogram.labels(kind=kind.value, result=result).observe(
            time.perf_counter() - started
        )
