"""CDI spec output (checked against the upstream CDI JSON Schema) and the checkpoint file."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from agent_testdata import claim, network_config, opaque
from jsonschema import Draft7Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from netclaim_agent import cdi
from netclaim_agent.atomicfile import write_atomic
from netclaim_agent.claims import read_claim
from netclaim_agent.devices import HostProbe, handler_for
from netclaim_agent.model import DeviceKind, Injection, InventoryDevice
from netclaim_agent.planning import plan_claim, resolve
from netclaim_agent.state import Checkpoint, ClaimRecord, Phase

CDI_SCHEMA_DIR = Path(__file__).parents[4] / "shared/reference/cdi-schema"
DEVICE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")


@pytest.fixture(scope="module")
def cdi_validator() -> Draft7Validator:
    if not (CDI_SCHEMA_DIR / "schema.json").is_file():
        pytest.skip(f"CDI JSON Schema not found at {CDI_SCHEMA_DIR}")
    base = "https://cdi.invalid/schema/"
    schema = json.loads((CDI_SCHEMA_DIR / "schema.json").read_text())
    defs = json.loads((CDI_SCHEMA_DIR / "defs.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [
            (base + "schema.json", Resource.from_contents(schema, default_specification=DRAFT7)),
            (base + "defs.json", Resource.from_contents(defs, default_specification=DRAFT7)),
        ]
    )
    return Draft7Validator({"$ref": base + "schema.json"}, registry=registry)


def check_spec(spec: dict[str, Any], validator: Draft7Validator) -> None:
    """The schema plus the rules the Go library adds on top of it."""
    errors = [e.message for e in validator.iter_errors(spec)]
    assert errors == []
    assert spec["kind"] == "netclaim.io/net"
    assert spec["devices"]
    for device in spec["devices"]:
        assert DEVICE_NAME.match(device["name"]), device["name"]
        assert device["containerEdits"], "device-level edits must not be empty"
        for env in device["containerEdits"].get("env", []):
            assert env.index("=") > 0
        net = device["containerEdits"].get("netDevices", [])
        if net:
            assert spec["cdiVersion"] == "1.1.0"
            assert len({n["hostInterfaceName"] for n in net}) == len(net)
            assert all(n["hostInterfaceName"] and n["name"] for n in net)


def test_upstream_examples_pass_our_validator(cdi_validator: Draft7Validator) -> None:
    for path in sorted((CDI_SCHEMA_DIR / "testdata/good").glob("*.json")):
        assert list(cdi_validator.iter_errors(json.loads(path.read_text()))) == []
    assert list(cdi_validator.iter_errors({"kind": "x/y"}))


def test_rdma_claim_spec_has_device_nodes(
    make_driver: Any, tmp_path: Path, cdi_validator: Draft7Validator
) -> None:
    driver, api = make_driver()
    ref, body = claim([("ib", "mlx5-0")])
    api[ref.uid] = body
    result = driver.prepare([ref])[ref.uid]
    assert result.error is None
    assert result.network == ()
    assert result.devices[0].cdi_device_ids == (f"netclaim.io/net={ref.uid}-0",)
    spec_file = tmp_path / "cdi" / f"netclaim.io-{ref.uid}.json"
    spec = json.loads(spec_file.read_text())
    check_spec(spec, cdi_validator)
    nodes = spec["devices"][0]["containerEdits"]["deviceNodes"]
    assert [(n["path"], n["major"], n["minor"]) for n in nodes] == [
        ("/dev/infiniband/uverbs0", 231, 192),
        ("/dev/infiniband/rdma_cm", 10, 58),
        ("/dev/infiniband/umad0", 231, 0),
    ]
    assert spec["cdiVersion"] == "0.5.0"
    assert not (tmp_path / "cdi" / f"netclaim.io-{ref.uid}-net.json").exists()


def test_cdi_net_spec_is_separate(cdi_validator: Draft7Validator, tmp_path: Path) -> None:
    devices = [
        cdi.CdiDevice(
            name="u1-0", env=("NETCLAIM_NET_IFNAME=net1",), net_devices=(("nt1", "net1"),)
        ),
        cdi.CdiDevice(name="u1-1", env=("NETCLAIM_B_IFNAME=net2",)),
    ]
    cdi.write_claim_specs(tmp_path, "u1", devices)
    base = json.loads((tmp_path / "netclaim.io-u1.json").read_text())
    net = json.loads((tmp_path / "netclaim.io-u1-net.json").read_text())
    check_spec(base, cdi_validator)
    check_spec(net, cdi_validator)
    assert "netDevices" not in json.dumps(base)
    assert net["devices"] == [
        {
            "name": "u1-0-net",
            "containerEdits": {"netDevices": [{"hostInterfaceName": "nt1", "name": "net1"}]},
        }
    ]
    assert devices[0].ids() == ("netclaim.io/net=u1-0", "netclaim.io/net=u1-0-net")
    assert cdi.claim_uids_with_specs(tmp_path) == {"u1"}
    cdi.remove_claim_specs(tmp_path, "u1")
    assert list(tmp_path.iterdir()) == []


def test_cdi_mode_veth_spec_validates(cdi_validator: Draft7Validator) -> None:
    ref, body = claim([("net", "veth")], [opaque(network_config(name="net1"))])
    allocation = read_claim(body, ref)
    veth = InventoryDevice(name="veth", kind=DeviceKind.VETH, slots=4)
    plan = plan_claim(
        allocation, resolve(allocation, {"veth": veth}.get, HostProbe()), Injection.CDI
    )
    device = handler_for(plan.devices[0].kind).cdi_device(plan.devices[0])
    spec = cdi.net_spec([device])
    assert spec is not None
    check_spec(spec, cdi_validator)
    host_name = spec["devices"][0]["containerEdits"]["netDevices"][0]["hostInterfaceName"]
    assert host_name == plan.devices[0].host_name and len(host_name) <= 15


def record(uid: str, phase: Phase = Phase.PREPARED) -> ClaimRecord:
    return ClaimRecord(
        namespace="ns",
        name="c",
        uid=uid,
        phase=phase,
        injection="nri",
        pod_uids=("p",),
        devices=({"kind": "veth"},),
        result={"devices": []},
    )


def test_checkpoint_roundtrip_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "state" / "checkpoint.json"
    checkpoint = Checkpoint(path)
    assert checkpoint.load() == {}
    checkpoint.save({"u1": record("u1"), "u2": record("u2", Phase.PREPARING)})
    loaded = Checkpoint(path).load()
    assert loaded["u1"].phase is Phase.PREPARED
    assert loaded["u1"].devices == ({"kind": "veth"},)
    assert loaded["u2"].phase is Phase.PREPARING
    assert loaded["u1"].pod_uids == ("p",)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert (document["apiVersion"], document["kind"]) == ("netclaim.io/v1alpha1", "Checkpoint")


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"apiVersion": "v0", "kind": "Checkpoint"}',
        b'{"apiVersion": "netclaim.io/v1alpha1", "kind": "Checkpoint", "claims": {"u": {}}}',
        b"",
    ],
    ids=["garbage", "list", "old-version", "record-missing-fields", "empty"],
)
def test_corrupt_checkpoint_is_moved_aside(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_bytes(content)
    assert Checkpoint(path).load() == {}
    assert "corrupt" in caplog.text
    assert not path.exists()
    assert len(list(tmp_path.glob("checkpoint.json.corrupt-*"))) == 1


def test_failed_atomic_write_keeps_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoint.json"
    Checkpoint(path).save({"u1": record("u1")})
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        Checkpoint(path).save({"u2": record("u2")})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    write_atomic(path, b"one", mode=0o644)
    write_atomic(path, b"two", mode=0o600)
    assert path.read_bytes() == b"two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
