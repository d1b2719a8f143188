"""Reconcile every PodNetwork: publish its addresses, write its status, guard its deletion,
and tell waiting pods why a network cannot serve them. Each pass reads the whole picture
fresh, so a missed watch event costs one pass, never a wrong slice or status."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes.client import ApiClient, CustomObjectsApi, ResourceV1Api

from netclaim_agent import DRIVER_NAME
from netclaim_agent.conditions import previous_ready, ready_condition
from netclaim_agent.controller.events import EventRecorder
from netclaim_agent.fip.pools import NETWORK_ADDRESS, build_pool_slices, held_addresses
from netclaim_agent.podnet.networks import GROUP, PLURAL, VERSION, NetworkSpec
from netclaim_agent.podnet.report import Verdict, judge, parse_all
from netclaim_agent.publisher import SliceWriter, api_call, api_call_unless_gone, plan_pool

log = logging.getLogger(__name__)

FINALIZER = f"{DRIVER_NAME}/addresses-in-use"
CLASS_LABEL = f"{DRIVER_NAME}/pod-network"
"""Label the device_class module puts on a DeviceClass made for a PodNetwork."""


class NetworkController:
    def __init__(self, api_client: ApiClient, events: EventRecorder) -> None:
        self._custom = CustomObjectsApi(api_client)
        self._resource = ResourceV1Api(api_client)
        self._writer = SliceWriter(api_client)
        self._events = events

    def reconcile_all(self, claims: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        objects = (
            api_call(
                "list PodNetworks",
                lambda: self._custom.list_cluster_custom_object(
                    GROUP, VERSION, PLURAL, _preload_content=False
                ),
            ).get("items")
            or []
        )
        slices = self._writer.list(f"spec.driver={DRIVER_NAME}", "PodNetworks")
        networks, broken = parse_all(objects)
        verdicts = judge(networks, slices, claims) + broken
        by_name = {o["metadata"]["name"]: o for o in objects}
        specs = {n.name: n for n in networks}
        for verdict in verdicts:
            obj = by_name[verdict.name]
            spec = specs.get(verdict.name)
            if spec is not None:
                self._publish(spec, verdict, claims, slices)
            self._guard_deletion(obj, verdict)
            self._report(obj, verdict)
        self._explain_waiting(claims, {v.name: v for v in verdicts})
        return verdicts

    def _publish(
        self,
        spec: NetworkSpec,
        verdict: Verdict,
        claims: Sequence[Mapping[str, Any]],
        slices: Sequence[Mapping[str, Any]],
    ) -> None:
        if spec.deleting and not verdict.holders:
            return  # the garbage collector takes the slices with the network
        held = held_addresses(claims, spec.pool_name, NETWORK_ADDRESS)
        pool = spec.address_pool()
        mine = [s for s in slices if s["spec"]["pool"].get("name") == spec.pool_name]
        plan = plan_pool(
            spec.pool_name,
            lambda generation: build_pool_slices(
                pool, generation, held, publish=verdict.publish_addresses
            ),
            mine,
        )
        if plan is not None:
            self._writer.apply(plan, f"PodNetwork {spec.name}")
            log.info(
                "PodNetwork %s: published addresses, generation %d", spec.name, plan.generation
            )

    def _guard_deletion(self, obj: Mapping[str, Any], verdict: Verdict) -> None:
        """A network whose addresses claims hold stays until they let go (a finalizer)."""
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        deleting = bool(meta.get("deletionTimestamp"))
        if not deleting and FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        elif deleting and FINALIZER in finalizers and not verdict.holders:
            finalizers.remove(FINALIZER)
            log.info(
                "PodNetwork %s: no claim holds its addresses; deletion may go on", meta["name"]
            )
        else:
            return
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        api_call_unless_gone(
            f"update finalizers of PodNetwork {meta['name']}",
            lambda: self._custom.patch_cluster_custom_object(
                GROUP, VERSION, PLURAL, meta["name"], patch, _preload_content=False
            ),
        )

    def _report(self, obj: Mapping[str, Any], verdict: Verdict) -> None:
        meta = obj["metadata"]
        status = obj.get("status") or {}
        previous = previous_ready(obj) or {}
        changed = (previous.get("status"), previous.get("reason")) != (
            "True" if verdict.ready else "False",
            verdict.reason,
        )
        wanted = {
            "observedGeneration": meta.get("generation", 0),
            "readyNodes": sum(1 for n in verdict.nodes if n.devices),
            "nodes": [
                {"name": n.name, "devices": n.devices, "available": n.available}
                for n in verdict.nodes
            ],
            "conditions": [ready_condition(obj, verdict.ready, verdict.reason, verdict.message)],
        }
        if {k: status.get(k) for k in wanted} != wanted:
            api_call_unless_gone(
                f"update status of PodNetwork {meta['name']}",
                lambda: self._custom.patch_cluster_custom_object_status(
                    GROUP, VERSION, PLURAL, meta["name"], {"status": wanted}, _preload_content=False
                ),
            )
        if changed:
            level = "Normal" if verdict.ready else "Warning"
            self._events.emit(obj, "PodNetwork", level, verdict.reason, verdict.message)
            log_at = logging.INFO if verdict.ready else logging.WARNING
            log.log(log_at, "PodNetwork %s: %s: %s", meta["name"], verdict.reason, verdict.message)

    def _explain_waiting(
        self, claims: Sequence[Mapping[str, Any]], verdicts: Mapping[str, Verdict]
    ) -> None:
        """An unallocated claim asking for a network that cannot serve it gets an event (on the
        claim and its pod) saying why; the scheduler's own message only says it cannot."""
        classes = (
            api_call(
                "list DeviceClasses",
                lambda: self._resource.list_device_class(
                    label_selector=CLASS_LABEL, _preload_content=False
                ),
            ).get("items")
            or []
        )
        network_of = {c["metadata"]["name"]: c["metadata"]["labels"][CLASS_LABEL] for c in classes}
        for claim in claims:
            if (claim.get("status") or {}).get("allocation"):
                continue
            for name in _requested_classes(claim):
                verdict = verdicts.get(network_of.get(name, ""))
                if verdict is None:
                    continue
                problem = _why_waiting(verdict)
                if problem is not None:
                    self._tell_waiting(claim, *problem)

    def _tell_waiting(self, claim: Mapping[str, Any], reason: str, message: str) -> None:
        self._events.emit(claim, "ResourceClaim", "Warning", reason, message)
        meta = claim["metadata"]
        for owner in meta.get("ownerReferences") or ():
            if owner.get("kind") == "Pod":
                pod = {
                    "apiVersion": "v1",
                    "metadata": {
                        "name": owner["name"],
                        "namespace": meta["namespace"],
                        "uid": owner["uid"],
                    },
                }
                self._events.emit(pod, "Pod", "Warning", reason, f"claim {meta['name']}: {message}")


def _requested_classes(claim: Mapping[str, Any]) -> list[str]:
    names = []
    for request in ((claim.get("spec") or {}).get("devices") or {}).get("requests") or ():
        exactly = request.get("exactly") or {}
        if exactly.get("deviceClassName"):
            names.append(str(exactly["deviceClassName"]))
        for sub in request.get("firstAvailable") or ():
            if sub.get("deviceClassName"):
                names.append(str(sub["deviceClassName"]))
    return names


def _why_waiting(verdict: Verdict) -> tuple[str, str] | None:
    if not verdict.ready:
        return "PodNetworkNotReady", f"PodNetwork {verdict.name} is not Ready: {verdict.message}"
    if verdict.size and verdict.free == 0:
        return "AddressRangeFull", (
            f"PodNetwork {verdict.name}: address range is full "
            f"({verdict.allocated} of {verdict.size} addresses allocated)"
        )
    return None
