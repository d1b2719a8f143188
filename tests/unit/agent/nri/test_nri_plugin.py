"""The whole NRI conversation against a fake runtime on a real unix socket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from nri_fake_runtime import FakeRuntime, RecordingHandler, RuntimeConnection, pod

from netclaim_agent._proto.nri import api_pb2
from netclaim_agent._proto.ttrpc import request_pb2
from netclaim_agent.nri import NriPlugin, PluginConfig
from netclaim_agent.nri.hooks import event_mask

NETNS = "/var/run/netns/cni-1234"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[FakeRuntime]:
    fake = FakeRuntime(tmp_path / "nri.sock")
    yield fake
    fake.close()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler(fail_uids=frozenset({"uid-broken"}))


@pytest.fixture
def plugin(runtime: FakeRuntime, handler: RecordingHandler) -> Iterator[NriPlugin]:
    config = PluginConfig(socket_path=str(runtime.path), backoff_initial=0.05, backoff_max=0.2)
    nri_plugin = NriPlugin(handler, config)
    nri_plugin.start()
    yield nri_plugin
    nri_plugin.stop()


def test_event_mask_is_run_stop_remove() -> None:
    assert event_mask([1, 2, 3]) == 0x7


def test_config_rejects_what_the_runtime_would() -> None:
    with pytest.raises(ValueError):
        PluginConfig(index="7")
    with pytest.raises(ValueError):
        PluginConfig(name="net claim")


def test_registers_configures_and_relearns_existing_pods(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    connection = runtime.accept()
    assert plugin.wait_registered(5)
    (registration,) = connection.registrations
    assert (registration.plugin_name, registration.plugin_idx) == ("netclaim", "10")
    configured = connection.call_ok(
        "Configure", api_pb2.ConfigureRequest(runtime_name="fake"), api_pb2.ConfigureResponse
    )
    assert isinstance(configured, api_pb2.ConfigureResponse)
    assert configured.events == 0x7
    first = api_pb2.SynchronizeRequest(pods=[pod("uid-a", NETNS + "a")], more=True)
    reply = connection.call_ok("Synchronize", first, api_pb2.SynchronizeResponse)
    assert isinstance(reply, api_pb2.SynchronizeResponse)
    assert reply.more
    assert handler.calls == []  # nothing happens before the last part
    last = api_pb2.SynchronizeRequest(pods=[pod("uid-host"), pod("uid-b", NETNS + "b")])
    reply = connection.call_ok("Synchronize", last, api_pb2.SynchronizeResponse)
    assert isinstance(reply, api_pb2.SynchronizeResponse)
    assert not reply.more
    handler.wait_for(lambda calls: len(calls) == 2)
    assert handler.calls == [
        ("attach", ("uid-a", NETNS + "a", "web", "default")),
        ("attach", ("uid-b", NETNS + "b", "web", "default")),
    ]


def test_large_synchronize_in_tiny_chunks_is_reassembled(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    pods = [pod(f"uid-{i:04d}", f"{NETNS}-{i}", name="x" * 200) for i in range(300)]
    connection = runtime.handshake(pods)  # ~80 KB in 7-byte mux chunks
    handler.wait_for(lambda calls: len(calls) == 300)
    assert [args[0] for _, args in handler.calls] == [p.uid for p in pods]
    assert connection.call("Shutdown", api_pb2.Empty()).code == 0


def test_relearning_goes_on_past_a_failing_pod(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    runtime.handshake([pod("uid-broken", NETNS), pod("uid-fine", NETNS)])
    handler.wait_for(lambda calls: len(calls) == 2)
    assert [args[0] for _, args in handler.calls] == ["uid-broken", "uid-fine"]


def run_event(event: int, sandbox: api_pb2.PodSandbox) -> api_pb2.StateChangeEvent:
    return api_pb2.StateChangeEvent(event=event, pod=sandbox)  # type: ignore[arg-type]


def test_pod_events_through_state_change_and_dedicated_rpcs(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    connection = runtime.handshake()
    sandbox = pod("uid-1", NETNS, name="db", namespace="prod")
    connection.call_ok("StateChange", run_event(api_pb2.RUN_POD_SANDBOX, sandbox), api_pb2.Empty)
    connection.call_ok(
        "RunPodSandbox", api_pb2.RunPodSandboxRequest(pod=sandbox), api_pb2.RunPodSandboxResponse
    )
    connection.call_ok("StateChange", run_event(api_pb2.STOP_POD_SANDBOX, sandbox), api_pb2.Empty)
    connection.call_ok(
        "RemovePodSandbox",
        api_pb2.RemovePodSandboxRequest(pod=sandbox),
        api_pb2.RemovePodSandboxResponse,
    )
    connection.call_ok(
        "StopPodSandbox", api_pb2.StopPodSandboxRequest(pod=pod("uid-2")), api_pb2.Empty
    )
    host = pod("uid-host")
    connection.call_ok("StateChange", run_event(api_pb2.RUN_POD_SANDBOX, host), api_pb2.Empty)
    connection.call_ok("StateChange", run_event(api_pb2.START_CONTAINER, sandbox), api_pb2.Empty)
    assert handler.calls == [
        ("attach", ("uid-1", NETNS, "db", "prod")),
        ("attach", ("uid-1", NETNS, "db", "prod")),
        ("detach", ("uid-1", NETNS)),
        ("forget", ("uid-1",)),
        ("detach", ("uid-2", None)),
    ]


def test_handler_failure_fails_the_sandbox_but_not_the_plugin(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    connection = runtime.handshake()
    broken = pod("uid-broken", NETNS, name="api", namespace="shop")
    for method, request in (
        ("RunPodSandbox", api_pb2.RunPodSandboxRequest(pod=broken)),
        ("StateChange", run_event(api_pb2.RUN_POD_SANDBOX, broken)),
    ):
        answer = connection.call(method, request)
        assert answer.code == 2
        assert "shop/api (uid-broken)" in answer.message
        assert "no such device" in answer.message
    connection.call_ok(
        "RunPodSandbox", api_pb2.RunPodSandboxRequest(pod=pod("uid-ok", NETNS)), api_pb2.Empty
    )
    assert handler.calls[-1] == ("attach", ("uid-ok", NETNS, "web", "default"))


def test_unknown_methods_and_garbage_come_back_as_statuses(
    runtime: FakeRuntime, plugin: NriPlugin
) -> None:
    connection = runtime.handshake()
    assert connection.call("CreateContainer", api_pb2.Empty()).code == 12
    garbage = request_pb2.Request(
        service="nri.pkg.api.v1alpha1.Plugin", method="RunPodSandbox", payload=b"\x0a\xff"
    )
    assert connection.call_raw(garbage.SerializeToString()).code == 3
    assert connection.call_raw(b"\xff\xfe\xfd").code == 3
    assert connection.call("Shutdown", api_pb2.Empty()).code == 0
    assert plugin.wait_registered(5)  # set by the plugin thread just after the handshake


def reconnected(runtime: FakeRuntime, old: RuntimeConnection) -> RuntimeConnection:
    old.close()
    return runtime.handshake([pod("uid-9", NETNS)])


def test_reconnects_after_the_runtime_goes_away_and_resyncs(
    runtime: FakeRuntime, plugin: NriPlugin, handler: RecordingHandler
) -> None:
    first = runtime.handshake()
    first.send_mux(1, b"\x00\x00\x00\x50half a frame")  # then the runtime dies mid-frame
    second = reconnected(runtime, first)
    handler.wait_for(lambda calls: ("attach", ("uid-9", NETNS, "web", "default")) in calls)
    assert plugin.registrations == 2
    assert second.registrations[0].plugin_idx == "10"


def test_stop_is_prompt_and_idempotent_even_without_a_runtime(tmp_path: Path) -> None:
    config = PluginConfig(socket_path=str(tmp_path / "absent.sock"), backoff_initial=0.05)
    nri_plugin = NriPlugin(RecordingHandler(), config)
    nri_plugin.start()
    assert not nri_plugin.wait_registered(0.3)
    stopper = threading.Thread(target=nri_plugin.stop)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive()
    nri_plugin.stop()
