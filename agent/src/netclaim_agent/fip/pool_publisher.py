"""Publish every FloatingIPPool as its slices and write the pool's status (size, allocated,
free, Ready). Run by the controller; each pass reads the whole picture fresh, so a missed
event costs one pass, never a wrong slice."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from kubernetes.client import ApiClient, CoreV1Api, CustomObjectsApi, ResourceV1Api

from netclaim_agent import DRIVER_NAME
from netclaim_agent.conditions import ready_condition
from netclaim_agent.controller.events import EventRecorder
from netclaim_agent.fip.pools import (
    Holding,
    PoolError,
    PoolSpec,
    build_pool_slices,
    conflicts,
    counts,
    held_addresses,
    holdings,
    stranded,
)
from netclaim_agent.publisher import SliceWriter, api_call, api_call_unless_gone, plan_pool

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "netclaim.io", "v1alpha1", "floatingippools"


@dataclass(frozen=True)
class PoolOutcome:
    name: str
    ready: bool
    reason: str
    message: str
    size: int = 0
    allocated: int = 0
    free: int = 0


class PoolPublisher:
    def __init__(self, api_client: ApiClient, events: EventRecorder | None = None) -> None:
        self._events = events
        self._custom = CustomObjectsApi(api_client)
        self._core = CoreV1Api(api_client)
        self._resource = ResourceV1Api(api_client)
        self._writer = SliceWriter(api_client)

    def reconcile_all(self, claims: Sequence[Mapping[str, Any]] | None = None) -> list[PoolOutcome]:
        """One pass; `claims` is the controller's list for this pass (read here when None)."""
        pools = (
            api_call(
                "list FloatingIPPools",
                lambda: self._custom.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, _preload_content=False
                ),
            ).get("items")
            or []
        )
        if claims is None:
            claims = (
                api_call(
                    "list ResourceClaims",
                    lambda: self._resource.list_resource_claim_for_all_namespaces(
                        _preload_content=False
                    ),
                ).get("items")
                or []
            )
        nodes = api_call("list Nodes", lambda: self._core.list_node(_preload_content=False))
        ready_nodes = {
            n["metadata"]["name"]
            for n in nodes.get("items") or []
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (n.get("status") or {}).get("conditions") or ()
            )
        }
        node_addresses = [
            a["address"]
            for n in nodes.get("items") or []
            for a in (n.get("status") or {}).get("addresses") or []
            if a.get("type") in ("InternalIP", "ExternalIP")
        ]
        slices = self._writer.list(f"spec.driver={DRIVER_NAME}", "floating-IP pools")
        parsed: list[tuple[PoolSpec, Mapping[str, Any]]] = []
        outcomes: list[PoolOutcome] = []
        for pool in pools:
            try:
                parsed.append((PoolSpec.from_object(pool), pool))
            except PoolError as exc:
                failed = PoolOutcome(pool["metadata"]["name"], False, exc.reason, str(exc))
                outcomes.append(self._report(pool, failed))
        specs = [spec for spec, _ in parsed]
        for spec, pool in parsed:
            outcome = self._publish(spec, specs, claims, node_addresses, slices)
            outcome = self._with_stranded(
                pool, outcome, holdings(claims, spec.pool_name), ready_nodes
            )
            outcomes.append(self._report(pool, outcome))
        return outcomes

    def _with_stranded(
        self,
        pool: Mapping[str, Any],
        outcome: PoolOutcome,
        held: Sequence[Holding],
        ready_nodes: set[str],
    ) -> PoolOutcome:
        """Say which addresses sit on a node that is not Ready: they cannot move until their
        pod is deleted, which is what keeps two nodes from answering for one address."""
        pod_nodes: dict[tuple[str, str], str] = {}
        for holding in held:
            for namespace, name in holding.pods:
                pod = api_call_unless_gone(
                    f"read Pod {namespace}/{name}",
                    partial(
                        self._core.read_namespaced_pod, name, namespace, _preload_content=False
                    ),
                )
                node = ((pod or {}).get("spec") or {}).get("nodeName")
                if node:
                    pod_nodes[(namespace, name)] = str(node)
        lost = stranded(held, pod_nodes, ready_nodes)
        if not lost:
            return outcome
        message = (
            f"held on a node that is not Ready: {'; '.join(lost)}. Each address stays there "
            "until its pod is deleted (force-delete it once the node is known to be down)"
        )
        if self._events is not None:
            self._events.emit(pool, "FloatingIPPool", "Warning", "HolderNodeNotReady", message)
        return replace(outcome, message=f"{outcome.message}; {message}")

    def _publish(
        self,
        spec: PoolSpec,
        specs: Sequence[PoolSpec],
        claims: Sequence[Mapping[str, Any]],
        node_addresses: Sequence[str],
        slices: Sequence[Mapping[str, Any]],
    ) -> PoolOutcome:
        held = held_addresses(claims, spec.pool_name)
        problem = conflicts(spec, specs, node_addresses)
        mine = [s for s in slices if s["spec"]["pool"].get("name") == spec.pool_name]
        try:

            def build(generation: int) -> list[dict[str, Any]]:
                return build_pool_slices(spec, generation, held, publish=problem is None)

            plan = plan_pool(spec.pool_name, build, mine)
            if plan is not None:
                self._writer.apply(plan, f"pool {spec.name}")
                log.info("pool %s: published generation %d", spec.name, plan.generation)
            tally = counts(spec, held)
        except PoolError as exc:
            return PoolOutcome(spec.name, False, exc.reason, str(exc))
        if problem is not None:
            return PoolOutcome(
                spec.name, False, problem.reason, str(problem), tally.size, tally.allocated, 0
            )
        return PoolOutcome(
            spec.name,
            True,
            "Published",
            f"{tally.size} addresses offered as devices of pool {spec.pool_name}",
            tally.size,
            tally.allocated,
            tally.free,
        )

    def _report(self, pool: Mapping[str, Any], outcome: PoolOutcome) -> PoolOutcome:
        meta = pool["metadata"]
        status = pool.get("status") or {}
        wanted = {
            "observedGeneration": meta.get("generation", 0),
            "size": outcome.size,
            "allocated": outcome.allocated,
            "free": outcome.free,
            "conditions": [ready_condition(pool, outcome.ready, outcome.reason, outcome.message)],
        }
        if {k: status.get(k) for k in wanted} != wanted:
            api_call_unless_gone(
                f"update status of FloatingIPPool {meta['name']}",
                lambda: self._custom.patch_cluster_custom_object_status(
                    GROUP,
                    VERSION,
                    PLURAL,
                    meta["name"],
                    {"status": wanted},
                    _preload_content=False,
                ),
            )
        if not outcome.ready:
            log.warning("pool %s not ready: %s", meta["name"], outcome.message)
        return outcome
