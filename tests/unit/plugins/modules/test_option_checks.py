"""Invalid option combinations fail in the module before any API call."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.netclaim.dra.plugins.modules import (
    device_class,
    resource_claim,
    resource_claim_template,
)


@pytest.fixture(autouse=True)
def no_api(monkeypatch):
    def refuse(module):
        raise AssertionError("the module tried to reach the API server")

    for mod in (device_class, resource_claim, resource_claim_template):
        monkeypatch.setattr(mod, "connect", refuse)


def run(module, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 1
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("module", [resource_claim, resource_claim_template])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"device_class": "x", "spec": {"devices": {}}},
            "parameters are mutually exclusive: spec|device_class",
        ),
        ({"count": 2, "spec": {"devices": {}}}, "parameters are mutually exclusive: spec|count"),
        ({}, "state is present but any of the following are missing: device_class, spec"),
        ({"device_class": "x", "count": 0}, "count: must be at least 1, got 0"),
        ({"device_class": "x", "floating_ip": "nope"}, "floating_ip: "),
    ],
)
def test_claim_option_errors(module, args, message, capsys):
    result = run(module, dict(name="c", **args), capsys)
    assert result["failed"] is True
    assert message in result["msg"]


def test_device_class_spec_with_friendly_options(capsys):
    result = run(device_class, {"name": "d", "kinds": ["veth"], "spec": {"selectors": []}}, capsys)
    assert "parameters are mutually exclusive: spec|kinds" in result["msg"]


def test_absent_needs_no_spec_options(capsys, monkeypatch):
    calls = []

    class FakeService:
        def absent(self, definition):
            calls.append(definition)
            return {"changed": False, "method": "delete", "result": {}}

    monkeypatch.setattr(resource_claim, "connect", lambda module: FakeService())
    with (
        patch_module_args({"name": "c", "namespace": "ns", "state": "absent"}),
        pytest.raises(SystemExit),
    ):
        resource_claim.main()
    assert json.loads(capsys.readouterr().out)["changed"] is False
    assert calls == [
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "ResourceClaim",
            "metadata": {"name": "c", "namespace": "ns"},
        }
    ]
