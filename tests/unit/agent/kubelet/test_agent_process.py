"""The real `netclaim-agent node` process: sockets, /healthz after registration, SIGTERM cleanup.

The API server it is pointed at refuses connections (a closed loopback port): kubelet-facing
startup must not depend on it, and publishing only logs and retries."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from netclaim_agent._proto.kubelet import registration_pb2, registration_pb2_grpc

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: unused}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""
AGENT_SRC = Path(__file__).resolve().parents[4] / "agent" / "src"
PORT_LINE = re.compile(r"serving /healthz and /metrics on 127\.0\.0\.1:(\d+)")


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    (tmp_path / "sys").mkdir()
    env = {**os.environ, "PYTHONPATH": str(AGENT_SRC), "NETCLAIM_METRICS_PORT": "0"}
    log = tmp_path / "agent.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netclaim_agent", "node", "--node-name", "unit-node",
             "--kubeconfig", str(tmp_path / "kubeconfig"),
             "--kubelet-plugins-dir", str(tmp_path / "plugins"),
             "--kubelet-registry-dir", str(tmp_path / "registry"),
             "--state-dir", str(tmp_path / "state"), "--cdi-dir", str(tmp_path / "cdi"),
             "--sysfs-root", str(tmp_path / "sys"), "--injection", "cdi"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        yield proc, tmp_path, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_sigterm_removes_both_sockets(
    agent: tuple[subprocess.Popen[bytes], Path, Path],
) -> None:
    proc, root, log = agent
    dra = root / "plugins" / "netclaim.io" / "dra.sock"
    reg = root / "registry" / "netclaim.io-reg.sock"
    _wait_for(lambda: dra.is_socket() and reg.is_socket(), "both sockets")
    match = None

    def port_logged() -> bool:
        nonlocal match
        match = PORT_LINE.search(log.read_text())
        return match is not None

    _wait_for(port_logged, "the /healthz port in the log")
    assert match is not None
    port = int(match.group(1))
    assert _healthz(port) == 503, "healthy before kubelet confirmed the registration"

    # Play kubelet's part of the registration handshake.
    with grpc.insecure_channel(f"unix://{reg}") as channel:
        stub = registration_pb2_grpc.RegistrationStub(channel)
        info = stub.GetInfo(registration_pb2.InfoRequest(), timeout=5)
        assert info.endpoint == str(dra)
        stub.NotifyRegistrationStatus(
            registration_pb2.RegistrationStatus(plugin_registered=True), timeout=5
        )
    assert _healthz(port) == 200

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, log.read_text()
    assert not dra.exists()
    assert not reg.exists()
