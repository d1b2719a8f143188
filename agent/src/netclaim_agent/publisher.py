"""Publish the node's devices as ResourceSlices, following the Go `resourceslice` controller:
one pool named after the node, generation bumped in all slices on any change, obsolete slices
deleted first (with UID and resourceVersion preconditions), then updates, then creates."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes.client import (
    ApiClient,
    CoreV1Api,
    ResourceV1Api,
    V1DeleteOptions,
    V1ResourceSlice,
)
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from netclaim_agent import DRIVER_NAME
from netclaim_agent.errors import NetclaimError
from netclaim_agent.model import InventoryDevice
from netclaim_agent.slices import build_slices, same_content

log = logging.getLogger(__name__)

NOT_FOUND = 404


class PublishError(NetclaimError):
    """An API request of the publisher failed; the message carries the API server's reason."""


def _api_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return f"{exc.status} {exc.reason}"


def api_call(what: str, request: Callable[[], Any]) -> dict[str, Any]:
    """Run one API request with a raw (dict) answer; failures become PublishError."""
    try:
        response = request()
    except ApiException as exc:
        raise PublishError(f"{what}: {_api_message(exc)}") from exc
    except (HTTPError, OSError) as exc:
        raise PublishError(f"{what}: {exc}") from exc
    data: dict[str, Any] = json.loads(response.data) if response.data else {}
    return data


def api_call_unless_gone(what: str, request: Callable[[], Any]) -> dict[str, Any] | None:
    """api_call for a write to an object that may have been deleted since it was listed:
    None when it is gone (the next pass will not see it)."""
    try:
        return api_call(what, request)
    except PublishError as exc:
        cause = exc.__cause__
        if isinstance(cause, ApiException) and cause.status == NOT_FOUND:
            return None
        raise


@dataclass(frozen=True)
class SlicePlan:
    """The writes that turn the stored slices into the wanted ones, in the order to make them."""

    generation: int
    delete: tuple[Mapping[str, Any], ...]
    replace: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...]
    create: tuple[Mapping[str, Any], ...]


def plan_publish(
    node_name: str,
    node_uid: str,
    devices: Sequence[InventoryDevice],
    existing: Sequence[Mapping[str, Any]],
    annotations: Mapping[str, str] | None = None,
) -> SlicePlan | None:
    """None when `existing` already says exactly `devices`; else a plan at the next generation."""
    return plan_pool(
        node_name,
        lambda generation: build_slices(node_name, node_uid, devices, generation, annotations),
        existing,
    )


def plan_pool(
    pool_name: str,
    build: Callable[[int], list[dict[str, Any]]],
    existing: Sequence[Mapping[str, Any]],
) -> SlicePlan | None:
    """None when `existing` already holds what `build` makes; else a plan at the next generation.

    Slices of older generations or other pools are deleted; current ones are reused (by name and
    resourceVersion) before new ones are created, so a republish rarely changes slice names."""
    generation = max((s["spec"]["pool"].get("generation", 0) for s in existing), default=0)
    current = [s for s in existing if _in_pool(s, pool_name, generation)]
    wanted = build(generation)
    if len(current) == len(existing) and _matches(current, wanted):
        return None
    wanted = build(generation + 1)
    keep = sorted(current, key=_first_device)[: len(wanted)]
    kept = {s["metadata"]["uid"] for s in keep}
    return SlicePlan(
        generation=generation + 1,
        delete=tuple(s for s in existing if s["metadata"]["uid"] not in kept),
        replace=tuple(zip(keep, wanted, strict=False)),
        create=tuple(wanted[len(keep) :]),
    )


def _in_pool(slice_: Mapping[str, Any], pool_name: str, generation: int) -> bool:
    pool = slice_["spec"]["pool"]
    return bool(pool.get("name") == pool_name and pool.get("generation") == generation)


class SliceWriter:
    """The API writes of a SlicePlan, shared by node pools and network-attached pools."""

    def __init__(self, api_client: ApiClient) -> None:
        self._resource = ResourceV1Api(api_client)

    def apply(self, plan: SlicePlan, what: str) -> None:
        for stale in plan.delete:
            self._delete(stale)
        for old, new in plan.replace:
            self._replace(old, new)
        for new in plan.create:
            self._create(new, what)

    def list(self, field_selector: str, what: str) -> list[dict[str, Any]]:
        listed = api_call(
            f"list ResourceSlices of {what}",
            lambda: self._resource.list_resource_slice(
                field_selector=field_selector, _preload_content=False
            ),
        )
        return list(listed.get("items") or [])

    def _delete(self, slice_: Mapping[str, Any]) -> None:
        meta = slice_["metadata"]
        body = V1DeleteOptions.model_validate(
            {"preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}}
        )
        api_call_unless_gone(
            f"delete ResourceSlice {meta['name']}",
            lambda: self._resource.delete_resource_slice(
                meta["name"], body=body, _preload_content=False
            ),
        )

    def _replace(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        name = old["metadata"]["name"]
        body = dict(new)
        body["metadata"] = {
            **new["metadata"],
            "name": name,
            "resourceVersion": old["metadata"]["resourceVersion"],
        }
        del body["metadata"]["generateName"]
        model = V1ResourceSlice.model_validate(body)
        api_call(
            f"update ResourceSlice {name}",
            lambda: self._resource.replace_resource_slice(name, model, _preload_content=False),
        )

    def _create(self, new: Mapping[str, Any], what: str) -> None:
        model = V1ResourceSlice.model_validate(dict(new))
        api_call(
            f"create ResourceSlice for {what}",
            lambda: self._resource.create_resource_slice(model, _preload_content=False),
        )


class SlicePublisher:
    def __init__(self, api_client: ApiClient, node_name: str) -> None:
        self.node_name = node_name
        self._core = CoreV1Api(api_client)
        self._writer = SliceWriter(api_client)

    def publish(
        self, devices: Sequence[InventoryDevice], annotations: Mapping[str, str] | None = None
    ) -> None:
        """Make the node's slices say exactly `devices`; no write when they already do."""
        node = api_call(
            f"read Node {self.node_name}",
            lambda: self._core.read_node(self.node_name, _preload_content=False),
        )
        plan = plan_publish(
            self.node_name, node["metadata"]["uid"], devices, self._existing(), annotations
        )
        if plan is None:
            log.debug("ResourceSlices of %s are up to date", self.node_name)
            return
        self._writer.apply(plan, self.node_name)
        log.info(
            "published %d devices of %s in %d ResourceSlices, generation %d",
            len(devices),
            self.node_name,
            len(plan.replace) + len(plan.create),
            plan.generation,
        )

    def _existing(self) -> list[dict[str, Any]]:
        selector = f"spec.nodeName={self.node_name},spec.driver={DRIVER_NAME}"
        return self._writer.list(selector, self.node_name)


def _first_device(slice_: Mapping[str, Any]) -> str:
    devices = slice_["spec"].get("devices") or []
    return str(devices[0]["name"]) if devices else ""


def _matches(current: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]) -> bool:
    """Same number of slices and each wanted slice stored as is (in any order)."""
    if len(current) != len(wanted):
        return False
    unmatched = list(current)
    for want in wanted:
        found = next((s for s in unmatched if same_content(s, want)), None)
        if found is None:
            return False
        unmatched.remove(found)
    return True
