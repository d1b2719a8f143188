"""Kubernetes API access for the node agent: the client, reading claims as plain dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config

from netclaim_agent.model import ClaimRef

NOT_FOUND = 404
REQUEST_TIMEOUT = 10.0
"""Seconds for one API call: well inside kubelet's 45 s deadline for a Prepare call."""


def load_api_client(kubeconfig: str | None) -> client.ApiClient:
    """A client from `kubeconfig`, or the in-cluster service account when it is None."""
    # The kubernetes package's config helpers are untyped; their results are plain ApiClients.
    loaders: Any = config
    if kubeconfig:
        api: client.ApiClient = loaders.new_client_from_config(config_file=kubeconfig)
        return api
    loaders.load_incluster_config()
    return client.ApiClient()


class ClaimReader:
    """Reads ResourceClaims as the API's JSON, so fields the client does not model survive."""

    def __init__(self, api: client.ApiClient) -> None:
        self._resource = client.ResourceV1Api(api)

    def __call__(self, ref: ClaimRef) -> Mapping[str, Any]:
        # Raw JSON (not the generated model) so fields the client does not know survive.
        response: Any = self._resource.read_namespaced_resource_claim(
            ref.name, ref.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
        claim: dict[str, Any] = json.loads(response.data)
        return claim


class PodNodeReader:
    """The node a pod is bound to (None: not bound, or gone)."""

    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)

    def __call__(self, namespace: str, name: str) -> str | None:
        try:
            response: Any = self._core.read_namespaced_pod(
                name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        except client.exceptions.ApiException as exc:
            if exc.status == NOT_FOUND:
                return None
            raise
        pod: dict[str, Any] = json.loads(response.data)
        node = (pod.get("spec") or {}).get("nodeName")
        return str(node) if node else None


class PoolAnnounceReader:
    """A FloatingIPPool's spec.announce (hostRoute when the pool is gone or says nothing)."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)

    def __call__(self, pool: str) -> str:
        try:
            response: Any = self._custom.get_cluster_custom_object(
                "netclaim.io",
                "v1alpha1",
                "floatingippools",
                pool,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except client.exceptions.ApiException as exc:
            if exc.status == NOT_FOUND:
                return "hostRoute"
            raise
        spec = json.loads(response.data).get("spec") or {}
        return str(spec.get("announce") or "hostRoute")
