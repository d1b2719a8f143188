"""The pure parts of the client layer: API error messages and what counts as a change.

Talking to a real API server is the integration targets' job (tests/integration/targets)."""

from __future__ import annotations

import json

from ansible_collections.netclaim.dra.plugins.module_utils import _client as client
from kubernetes.client.exceptions import ApiException

CLAIM = {
    "apiVersion": "resource.k8s.io/v1",
    "kind": "ResourceClaim",
    "metadata": {"name": "c", "namespace": "ns"},
}


def api_exception(status, reason, body):
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps(body).encode()
    return error


IMMUTABLE = api_exception(
    422,
    "Unprocessable Entity",
    {
        "kind": "Status",
        "message": 'ResourceClaim.resource.k8s.io "c" is invalid: '
        "spec: Invalid value: ...: field is immutable",
        "reason": "Invalid",
        "details": {
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: ...: field is immutable",
                    "field": "spec",
                }
            ]
        },
    },
)


def test_api_error_names_field_and_reason():
    error = client.api_error("apply", CLAIM, IMMUTABLE)
    assert str(error) == (
        'Failed to apply ResourceClaim ns/c: ResourceClaim.resource.k8s.io "c" is invalid: '
        "spec: Invalid value: ...: field is immutable"
    )
    assert error.result == {
        "error": {
            "status": 422,
            "reason": "Invalid",
            "causes": [
                {
                    "field": "spec",
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: ...: field is immutable",
                }
            ],
        }
    }


def test_api_error_without_json_body():
    error = ApiException(status=503, reason="Service Unavailable")
    error.body = b"upstream connect error"
    assert str(client.api_error("read", CLAIM, error)) == (
        "Failed to read ResourceClaim ns/c: 503 Service Unavailable"
    )


def test_api_error_for_unreachable_server():
    error = client.api_error("read", CLAIM, OSError("connection refused"))
    assert "cannot reach the Kubernetes API server: connection refused" in str(error)


def test_immutable_spec_detection():
    assert client._immutable_spec(IMMUTABLE)
    other = api_exception(
        422,
        "Unprocessable Entity",
        {"details": {"causes": [{"field": "metadata.name", "message": "Invalid value"}]}},
    )
    assert not client._immutable_spec(other)
    assert not client._immutable_spec(api_exception(409, "Conflict", {}))


def test_comparable_ignores_server_bookkeeping_and_status():
    before = {
        "metadata": {"name": "x", "resourceVersion": "1", "generation": 1, "managedFields": [{}]},
        "spec": {"a": 1},
        "status": {"conditions": []},
    }
    after = {
        "metadata": {
            "name": "x",
            "resourceVersion": "2",
            "generation": 2,
            "managedFields": [{}, {}],
        },
        "spec": {"a": 1},
        "status": {"conditions": [{"type": "Ready"}]},
    }
    assert (
        client.comparable(before)
        == client.comparable(after)
        == {"metadata": {"name": "x"}, "spec": {"a": 1}}
    )
    assert client.comparable(None) == {}
    assert "managedFields" not in client.clean(after)["metadata"]
    assert client.clean(after)["status"] == after["status"]
