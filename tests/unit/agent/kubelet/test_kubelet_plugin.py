"""The kubelet-facing gRPC services over real unix sockets, with a small in-process driver."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest

from netclaim_agent._proto.kubelet import (
    dra_v1_pb2,
    dra_v1_pb2_grpc,
    dra_v1beta1_pb2,
    dra_v1beta1_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
)
from netclaim_agent.kubelet.core import DraCore
from netclaim_agent.kubelet.plugin import KubeletPlugin, SocketError, SocketPaths
from netclaim_agent.model import ClaimRef, NetworkData, PreparedDevice, PrepareResult


class TableDriver:
    """Prepares claims whose name starts with `ok`, fails the others; records unprepares."""

    def __init__(self) -> None:
        self.unprepared: list[str] = []

    def prepare(self, claims: Sequence[ClaimRef]) -> dict[str, PrepareResult]:
        results = {}
        for ref in claims:
            if ref.name.startswith("ok"):
                device = PreparedDevice(
                    ("net",), "node-a", "veth", (f"netclaim.io/net={ref.uid}",), share_id="share-1"
                )
                network = NetworkData("node-a", "veth", "share-1", "net1", None, ("10.0.0.2/24",))
                results[ref.uid] = PrepareResult(devices=(device,), network=(network,))
            else:
                results[ref.uid] = PrepareResult(error="config[0].interface.mtu: 9 is below 68")
        return results

    def unprepare(self, claims: Sequence[ClaimRef]) -> dict[str, str | None]:
        self.unprepared += [c.uid for c in claims]
        return {c.uid: None for c in claims}


@pytest.fixture
def paths(tmp_path: Path) -> SocketPaths:
    return SocketPaths(
        dra=tmp_path / "plugins" / "netclaim.io" / "dra.sock",
        registration=tmp_path / "registry" / "netclaim.io-reg.sock",
    )


@pytest.fixture
def reported() -> list[tuple[ClaimRef, Sequence[NetworkData]]]:
    return []


@pytest.fixture
def plugin(
    paths: SocketPaths, reported: list[tuple[ClaimRef, Sequence[NetworkData]]]
) -> Iterator[KubeletPlugin]:
    core = DraCore(TableDriver(), lambda ref, net: reported.append((ref, net)))
    p = KubeletPlugin(core, paths, watch_interval=0.1)
    p.start()
    yield p
    p.stop()


def _channel(path: Path) -> grpc.Channel:
    return grpc.insecure_channel(f"unix://{path}")


def test_registration_advertises_v1_first(plugin: KubeletPlugin, paths: SocketPaths) -> None:
    with _channel(paths.registration) as ch:
        stub = registration_pb2_grpc.RegistrationStub(ch)
        info = stub.GetInfo(registration_pb2.InfoRequest(), timeout=5)
        assert (info.type, info.name, info.endpoint) == ("DRAPlugin", "netclaim.io", str(paths.dra))
        assert list(info.supported_versions) == ["v1.DRAPlugin", "v1beta1.DRAPlugin"]
        assert not plugin.registered
        stub.NotifyRegistrationStatus(
            registration_pb2.RegistrationStatus(plugin_registered=True), timeout=5
        )
    assert plugin.registered


def test_sockets_are_root_only(plugin: KubeletPlugin, paths: SocketPaths) -> None:
    for path in (paths.dra, paths.registration):
        mode = path.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, path


def test_v1_answers_every_claim_with_its_own_result(
    plugin: KubeletPlugin,
    paths: SocketPaths,
    reported: list[tuple[ClaimRef, Sequence[NetworkData]]],
) -> None:
    request = dra_v1_pb2.NodePrepareResourcesRequest(
        claims=[
            dra_v1_pb2.Claim(namespace="ns", name="ok-a", uid="uid-a"),
            dra_v1_pb2.Claim(namespace="ns", name="bad-b", uid="uid-b"),
        ]
    )
    with _channel(paths.dra) as ch:
        response = dra_v1_pb2_grpc.DRAPluginStub(ch).NodePrepareResources(request, timeout=5)
    assert set(response.claims) == {"uid-a", "uid-b"}
    ok = response.claims["uid-a"]
    assert ok.error == ""
    [device] = ok.devices
    assert (device.pool_name, device.device_name, device.share_id) == ("node-a", "veth", "share-1")
    assert list(device.cdi_device_ids) == ["netclaim.io/net=uid-a"]
    assert "mtu" in response.claims["uid-b"].error
    assert [ref.uid for ref, _ in reported] == ["uid-a"]


def test_v1beta1_serves_the_same_core(plugin: KubeletPlugin, paths: SocketPaths) -> None:
    with _channel(paths.dra) as ch:
        stub = dra_v1beta1_pb2_grpc.DRAPluginStub(ch)
        prepared = stub.NodePrepareResources(
            dra_v1beta1_pb2.NodePrepareResourcesRequest(
                claims=[dra_v1beta1_pb2.Claim(namespace="ns", name="ok-c", uid="uid-c")]
            ),
            timeout=5,
        )
        unprepared = stub.NodeUnprepareResources(
            dra_v1beta1_pb2.NodeUnprepareResourcesRequest(
                claims=[dra_v1beta1_pb2.Claim(namespace="ns", name="ok-c", uid="uid-c")]
            ),
            timeout=5,
        )
    assert prepared.claims["uid-c"].devices[0].device_name == "veth"
    assert unprepared.claims["uid-c"].error == ""


def test_deleted_registration_socket_is_recreated(
    plugin: KubeletPlugin, paths: SocketPaths
) -> None:
    paths.registration.unlink()
    deadline = time.monotonic() + 5
    while not paths.registration.is_socket() and time.monotonic() < deadline:
        time.sleep(0.05)
    with _channel(paths.registration) as ch:
        info = registration_pb2_grpc.RegistrationStub(ch).GetInfo(
            registration_pb2.InfoRequest(), timeout=5
        )
    assert info.name == "netclaim.io"


def test_stop_removes_both_sockets(paths: SocketPaths) -> None:
    p = KubeletPlugin(DraCore(TableDriver()), paths, watch_interval=0.1)
    p.start()
    p.stop()
    assert not paths.dra.exists() and not paths.registration.exists()


def test_a_regular_file_in_the_way_is_not_replaced(paths: SocketPaths) -> None:
    paths.dra.parent.mkdir(parents=True)
    paths.dra.write_text("not a socket")
    p = KubeletPlugin(DraCore(TableDriver()), paths)
    with pytest.raises(SocketError, match="not a socket"):
        p.start()
    assert paths.dra.read_text() == "not a socket"
