"""Claim reading and config merging: order, request filter, other drivers, defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_testdata import claim, network_config, opaque
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from netclaim_agent.claims import read_claim
from netclaim_agent.errors import ConfigError
from netclaim_agent.model import DeviceKind, MptcpEndpoint, MptcpSettings
from netclaim_agent.opaque import RouteConfig, config_for, select_configs

SCHEMA = Path(__file__).parents[3] / "agent/src/netclaim_agent/schema/netclaim-config.schema.json"


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["device"]["properties"]["kind"]["enum"]) == set(DeviceKind)


def test_read_claim_keeps_only_our_results_and_pods() -> None:
    other = {"request": "gpu", "driver": "gpu.example.com", "pool": "p", "device": "gpu0"}
    ref, body = claim([("net", "veth")], extra_results=[other], pod_uid="pod-9")
    body["status"]["reservedFor"].append({"resource": "deployments", "uid": "not-a-pod"})
    allocation = read_claim(body, ref)
    assert [r.device for r in allocation.results] == ["veth"]
    assert allocation.pod_uids == ("pod-9",)


def test_class_config_applies_first_and_claim_config_wins() -> None:
    configs = [
        opaque(network_config(mtu=1400, name="cls0"), source="FromClaim"),
        opaque(network_config(mtu=9000, addresses=["10.0.0.2/24"]), source="FromClass"),
    ]
    merged = config_for("net", select_configs(configs))
    assert merged.mtu == 1400  # the claim's value, although the class entry came later
    assert merged.interface_name == "cls0"
    assert merged.addresses == ("10.0.0.2/24",)


def test_requests_filter_and_subrequests() -> None:
    configs = select_configs(
        [
            opaque(network_config(name="a0"), requests=["a"]),
            opaque(network_config(name="b0"), requests=["b/fast"]),
        ]
    )
    assert config_for("a/fast", configs).interface_name == "a0"
    assert config_for("b/fast", configs).interface_name == "b0"
    assert config_for("b/slow", configs).interface_name is None
    assert config_for("c", configs).interface_name is None


def test_other_drivers_configs_are_skipped_even_if_invalid() -> None:
    configs = select_configs(
        [opaque({"anything": True}, driver="gpu.example.com"), {"source": "FromClaim"}]
    )
    assert configs == []


def test_full_config_parses_into_frozen_dataclass() -> None:
    document = network_config(
        device={"kind": "macvlan", "parent": "eth1", "mode": "private"},
        name="net7",
        mtu=1450,
        mac="02:AA:00:00:00:01",
        addresses=["10.0.0.2/24", "fd00::2/64"],
        routes=[{"to": "10.9.0.0/16", "via": "10.0.0.1", "table": 100}],
        sysctls={"ipv4.rp_filter": 2, "ipv6.accept_ra": 0},
    )
    merged = config_for("net", select_configs([opaque(document)]))
    assert merged.kind is DeviceKind.MACVLAN
    assert merged.mac == "02:aa:00:00:00:01"
    assert merged.routes == (RouteConfig("10.9.0.0/16", "10.0.0.1", 100),)
    assert merged.sysctls == (("ipv4.rp_filter", 2), ("ipv6.accept_ra", 0))
    with pytest.raises(AttributeError):
        merged.mtu = 1  # type: ignore[misc]


def test_mptcp_endpoints_without_address_cover_every_interface_address() -> None:
    document = {
        **network_config(addresses=["10.0.0.2/24", "fd00::2/64"]),
        "mptcp": {
            "enabled": True,
            "limits": {"subflows": 2, "addAddrAccepted": 1},
            "endpoints": [{"flags": ["signal"]}],
        },
    }
    merged = config_for("net", select_configs([opaque(document)]))
    assert merged.mptcp == MptcpSettings(
        enabled=True,
        subflows=2,
        add_addr_accepted=1,
        endpoints=(MptcpEndpoint(None, ("signal",)),),
    )


def test_semantic_errors_name_the_config_that_set_the_field() -> None:
    configs = select_configs(
        [
            opaque(network_config(mac="01:00:00:00:00:01"), source="FromClass"),
            opaque(network_config(name="ok")),
        ]
    )
    with pytest.raises(ConfigError) as caught:
        config_for("net", configs)
    assert caught.value.problems == [
        "config[0] (FromClass).interface.mac: '01:00:00:00:00:01' must be a unicast address "
        "(lowest bit of the first octet clear)"
    ]
