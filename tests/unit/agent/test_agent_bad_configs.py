"""Malformed configs and claims: each fails only its claim, with one message naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_testdata import claim, network_config, opaque

from netclaim_agent.model import Injection

CFG = network_config
VETH = [("net", "veth")]


def cfg_raw(**top: Any) -> dict[str, Any]:
    return {"apiVersion": "netclaim.io/v1alpha1", "kind": "NetworkConfig", **top}


# (id, devices, config entries, injection, substrings the single error message must contain)
CASES: list[tuple[str, list[tuple[str, str]], list[dict[str, Any]], Injection, list[str]]] = [
    (
        "wrong-apiversion",
        VETH,
        [opaque({**CFG(), "apiVersion": "netclaim.io/v9"})],
        Injection.NRI,
        ["apiVersion", "netclaim.io/v1alpha1"],
    ),
    (
        "wrong-kind",
        VETH,
        [opaque({**CFG(), "kind": "Pod"})],
        Injection.NRI,
        [".kind", "NetworkConfig"],
    ),
    (
        "missing-apiversion",
        VETH,
        [opaque({"kind": "NetworkConfig"})],
        Injection.NRI,
        ["'apiVersion' is a required property"],
    ),
    ("unknown-top-field", VETH, [opaque(cfg_raw(colour="red"))], Injection.NRI, ["colour"]),
    (
        "unknown-device-field",
        VETH,
        [opaque(cfg_raw(device={"speed": 10}))],
        Injection.NRI,
        [".device", "speed"],
    ),
    (
        "unknown-interface-field",
        VETH,
        [opaque(CFG(ipaddr="10.0.0.1/24"))],
        Injection.NRI,
        [".interface", "ipaddr"],
    ),
    (
        "unknown-device-kind",
        VETH,
        [opaque(CFG(device={"kind": "bond"}))],
        Injection.NRI,
        [".device.kind", "bond"],
    ),
    (
        "name-too-long",
        VETH,
        [opaque(CFG(name="averyveryverylongname"))],
        Injection.NRI,
        [".interface.name", "too long"],
    ),
    ("name-slash", VETH, [opaque(CFG(name="net/1"))], Injection.NRI, [".interface.name", "net/1"]),
    ("name-dot", VETH, [opaque(CFG(name="."))], Injection.NRI, [".interface.name"]),
    ("name-dotdot", VETH, [opaque(CFG(name=".."))], Injection.NRI, [".interface.name"]),
    ("name-space", VETH, [opaque(CFG(name="net 1"))], Injection.NRI, [".interface.name"]),
    (
        "name-bytes",
        VETH,
        [opaque(CFG(name="ééééééééé"))],
        Injection.NRI,
        ["interface.name", "at most 15 bytes, got 18"],
    ),
    ("name-empty", VETH, [opaque(CFG(name=""))], Injection.NRI, [".interface.name"]),
    ("mtu-low", VETH, [opaque(CFG(mtu=67))], Injection.NRI, [".interface.mtu", "minimum of 68"]),
    ("mtu-high", VETH, [opaque(CFG(mtu=65536))], Injection.NRI, [".interface.mtu", "65535"]),
    (
        "mtu-string",
        VETH,
        [opaque(CFG(mtu="1500"))],
        Injection.NRI,
        [".interface.mtu", "not of type 'integer'"],
    ),
    ("mac-format", VETH, [opaque(CFG(mac="02-00-00-00-00-01"))], Injection.NRI, [".interface.mac"]),
    (
        "mac-multicast",
        VETH,
        [opaque(CFG(mac="01:00:5e:00:00:01"))],
        Injection.NRI,
        ["interface.mac", "unicast"],
    ),
    (
        "addresses-not-list",
        VETH,
        [opaque(CFG(addresses="10.0.0.2/24"))],
        Injection.NRI,
        [".interface.addresses", "not of type 'array'"],
    ),
    (
        "address-bad-cidr",
        VETH,
        [opaque(CFG(addresses=["10.0.0.300/24"]))],
        Injection.NRI,
        ["interface.addresses[0]", "not a CIDR"],
    ),
    (
        "address-bad-v6",
        VETH,
        [opaque(CFG(addresses=["fe80::zz/64"]))],
        Injection.NRI,
        ["interface.addresses[0]"],
    ),
    (
        "route-missing-to",
        VETH,
        [opaque(CFG(routes=[{"via": "10.0.0.1"}]))],
        Injection.NRI,
        [".interface.routes[0]", "'to' is a required property"],
    ),
    (
        "route-bad-prefix",
        VETH,
        [opaque(CFG(addresses=["10.0.0.2/24"], routes=[{"to": "10.1.0.0/33"}]))],
        Injection.NRI,
        ["interface.routes[0].to"],
    ),
    (
        "route-host-bits",
        VETH,
        [opaque(CFG(addresses=["10.0.0.2/24"], routes=[{"to": "10.1.0.1/16"}]))],
        Injection.NRI,
        ["interface.routes[0].to", "host bits"],
    ),
    (
        "route-family",
        VETH,
        [opaque(CFG(addresses=["10.0.0.2/24"], routes=[{"to": "10.1.0.0/16", "via": "fd00::1"}]))],
        Injection.NRI,
        ["interface.routes[0].via", "IPv6"],
    ),
    (
        "route-table-local",
        VETH,
        [opaque(CFG(routes=[{"to": "10.1.0.0/16", "table": 255}]))],
        Injection.NRI,
        [".interface.routes[0].table"],
    ),
    (
        "sysctl-not-allowed",
        VETH,
        [opaque(CFG(sysctls={"ipv4.ip_forward": 1}))],
        Injection.NRI,
        [".interface.sysctls", "ipv4.ip_forward"],
    ),
    (
        "sysctl-value",
        VETH,
        [opaque(CFG(sysctls={"ipv4.rp_filter": 99}))],
        Injection.NRI,
        [".interface.sysctls.ipv4.rp_filter", "99"],
    ),
    (
        "macvlan-parent-missing",
        [("net", "macvlan-orphan")],
        [],
        Injection.NRI,
        ["device.parent", "required for macvlan"],
    ),
    (
        "macvlan-parent-uplink",
        [("net", "macvlan-uplink")],
        [],
        Injection.NRI,
        ["device.parent", "'eth0'", "default route"],
    ),
    (
        "macvlan-parent-override-uplink",
        [("net", "macvlan-eth1")],
        [opaque(CFG(device={"parent": "eth0"}))],
        Injection.NRI,
        ["device.parent", "default route"],
    ),
    ("host-device-uplink", [("net", "uplink")], [], Injection.NRI, ["'eth0'", "default route"]),
    (
        "macvlan-bad-mode",
        [("net", "macvlan-eth1")],
        [opaque(CFG(device={"mode": "l3"}))],
        Injection.NRI,
        ["device.mode", "not a macvlan mode"],
    ),
    (
        "huge-payload",
        VETH,
        [opaque(CFG(name="net1", pad="x" * 20_000))],
        Injection.NRI,
        ["config[0] (FromClaim)", "over the 10240-byte limit"],
    ),
    (
        "parameters-list",
        VETH,
        [opaque(["apiVersion"])],
        Injection.NRI,
        ["config[0] (FromClaim)", "not of type 'object'"],
    ),
    (
        "veth-with-parent",
        VETH,
        [opaque(CFG(device={"parent": "eth1"}))],
        Injection.NRI,
        ["device.parent", "not used by veth"],
    ),
    (
        "kind-mismatch",
        VETH,
        [opaque(CFG(device={"kind": "macvlan"}))],
        Injection.NRI,
        ["device.kind", "config says macvlan", "is veth"],
    ),
    ("not-in-inventory", [("net", "ghost")], [], Injection.NRI, ["'ghost'", "not in this node"]),
    (
        "duplicate-names",
        [("a", "veth"), ("b", "veth")],
        [opaque(CFG(name="net1"))],
        Injection.NRI,
        ["interface.name 'net1' is also used by request 'a'"],
    ),
    (
        "cdi-routes",
        VETH,
        [opaque(CFG(addresses=["10.0.0.2/24"], routes=[{"to": "10.1.0.0/16"}]))],
        Injection.CDI,
        ["interface.routes", "CDI injection"],
    ),
    (
        "cdi-sysctls",
        VETH,
        [opaque(CFG(sysctls={"ipv4.rp_filter": 0}))],
        Injection.CDI,
        ["interface.sysctls", "CDI injection"],
    ),
    (
        "trust-string",
        VETH,
        [opaque(CFG(device={"trust": "yes"}))],
        Injection.NRI,
        [".device.trust", "not of type 'boolean'"],
    ),
    (
        "vlan-range",
        VETH,
        [opaque(CFG(device={"vlan": 5000}))],
        Injection.NRI,
        [".device.vlan", "4094"],
    ),
    (
        "rdma-with-netdev",
        [("ib", "mlx5-0")],
        [opaque(CFG(name="ib0"))],
        Injection.NRI,
        ["interface.name", "rdma devices have no netdev"],
    ),
    (
        "rdma-bad-char-device",
        [("ib", "mlx5-0")],
        [opaque(CFG(device={"rdma": {"charDevices": ["issm"]}}))],
        Injection.NRI,
        [".device.rdma.charDevices[0]", "issm"],
    ),
    (
        "ipvlan-mac",
        [("net", "ipvlan-eth1")],
        [opaque(CFG(mac="02:00:00:00:00:01"))],
        Injection.NRI,
        ["interface.mac", "ipvlan"],
    ),
    (
        "mptcp-signal-and-fullmesh",
        VETH,
        [opaque(cfg_raw(mptcp={"endpoints": [{"flags": ["signal", "fullmesh"]}]}))],
        Injection.NRI,
        ["mptcp.endpoints[0].flags", "exclude each other"],
    ),
    (
        "mptcp-unknown-flag",
        VETH,
        [opaque(cfg_raw(mptcp={"endpoints": [{"flags": ["fast"]}]}))],
        Injection.NRI,
        [".mptcp.endpoints[0].flags[0]", "fast"],
    ),
    (
        "mptcp-foreign-address",
        VETH,
        [
            opaque(
                {
                    **CFG(addresses=["10.0.0.2/24"]),
                    "mptcp": {"endpoints": [{"address": "10.0.0.3", "flags": ["signal"]}]},
                }
            )
        ],
        Injection.NRI,
        ["mptcp.endpoints[0].address", "10.0.0.3 is not one of interface.addresses"],
    ),
    (
        "mptcp-two-endpoints-one-address",
        VETH,
        [
            opaque(
                {
                    **CFG(addresses=["10.0.0.2/24"]),
                    "mptcp": {"endpoints": [{"flags": ["signal"]}, {"flags": ["backup"]}]},
                }
            )
        ],
        Injection.NRI,
        ["mptcp.endpoints[1]: 10.0.0.2 already has an endpoint"],
    ),
    (
        "mptcp-endpoint-and-no-address",
        VETH,
        [opaque(cfg_raw(mptcp={"endpoints": [{"flags": ["signal"]}]}))],
        Injection.NRI,
        ["mptcp.endpoints[0].address", "unset, and the interface has no address"],
    ),
    (
        "mptcp-port-without-signal",
        VETH,
        [opaque(cfg_raw(mptcp={"endpoints": [{"flags": ["subflow"], "port": 8080}]}))],
        Injection.NRI,
        ["mptcp.endpoints[0].port", "only a signal endpoint"],
    ),
    (
        "mptcp-limit-too-high",
        VETH,
        [opaque(cfg_raw(mptcp={"limits": {"subflows": 9}}))],
        Injection.NRI,
        [".mptcp.limits.subflows", "9"],
    ),
    (
        "mptcp-with-cdi",
        VETH,
        [opaque(cfg_raw(mptcp={"enabled": True}))],
        Injection.CDI,
        ["mptcp: not supported with CDI injection"],
    ),
    (
        "class-config-bad",
        VETH,
        [opaque(CFG(mtu=1), source="FromClass")],
        Injection.NRI,
        ["config[0] (FromClass).interface.mtu"],
    ),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case[0]) for case in CASES])
def test_bad_config_fails_only_its_claim(make_driver: Any, tmp_path: Path, case: Any) -> None:
    _, devices, configs, injection, expected = case
    driver, api = make_driver(injection=injection)
    bad_ref, bad = claim(devices, configs, name="bad")
    good_ref, good = claim([("net", "veth")], [opaque(CFG(name="eth1"))], name="good")
    api.update({bad_ref.uid: bad, good_ref.uid: good})

    answers = driver.prepare([bad_ref, good_ref])

    assert set(answers) == {bad_ref.uid, good_ref.uid}
    error = answers[bad_ref.uid].error
    assert error is not None
    assert "\n" not in error
    assert f"default/bad ({bad_ref.uid})" in error
    for text in expected:
        assert text in error, f"{text!r} missing from: {error}"
    assert answers[good_ref.uid].error is None
    # Nothing of the failed claim stays behind: no CDI file, no checkpoint record.
    assert not list((tmp_path / "cdi").glob(f"*{bad_ref.uid}*"))
    assert driver.unprepare([good_ref]) == {good_ref.uid: None}


def test_deeply_nested_payload_is_a_claim_error(make_driver: Any) -> None:
    nested: Any = "x"
    for _ in range(100_000):
        nested = [nested]
    driver, api = make_driver()
    ref, body = claim(VETH, [opaque(CFG(name=nested))])
    api[ref.uid] = body
    error = driver.prepare([ref])[ref.uid].error
    assert error is not None
    assert "config[0] (FromClaim)" in error
    assert "internal error" not in error


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_all_problems_in_one_message(make_driver: Any) -> None:
    driver, api = make_driver()
    ref, body = claim(VETH, [opaque(CFG(mtu=1, name="a/b", routes=[{"to": "x"}]))])
    api[ref.uid] = body
    error = driver.prepare([ref])[ref.uid].error
    assert error is not None
    for field in (".interface.mtu", ".interface.name", ".interface.routes[0].to"):
        assert field in error


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda c: c["status"].pop("allocation"), "not allocated", id="unallocated"),
        pytest.param(lambda c: c["metadata"].update(uid="other"), "'other'", id="uid-mismatch"),
        pytest.param(
            lambda c: c["status"]["allocation"]["devices"].update(results="x"),
            "results: expected a list",
            id="results-not-list",
        ),
        pytest.param(
            lambda c: c["status"]["allocation"]["devices"]["results"][0].pop("device"),
            "results[0]: missing device",
            id="result-without-device",
        ),
    ],
)
def test_bad_claim_objects(make_driver: Any, mutate: Any, expected: str) -> None:
    driver, api = make_driver()
    ref, body = claim(VETH)
    mutate(body)
    api[ref.uid] = body
    error = driver.prepare([ref])[ref.uid].error
    assert error is not None
    assert expected in error


def test_api_failure_is_a_claim_error(make_driver: Any) -> None:
    driver, _ = make_driver()
    ref, _ = claim(VETH)
    error = driver.prepare([ref])[ref.uid].error
    assert error is not None
    assert "cannot read the ResourceClaim" in error
    assert "not found" in error
