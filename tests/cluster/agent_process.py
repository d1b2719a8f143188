"""netclaim-agent run as a host process against the local node, the way the `agent` role
runs it where systemd is not PID 1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from testbed.layout import NODE_NAME

REGISTRATION_SOCKET = Path("/var/lib/kubelet/plugins_registry/netclaim.io-reg.sock")
DRA_SOCKET = Path("/var/lib/kubelet/plugins/netclaim.io/dra.sock")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AgentProcess:
    def __init__(self, kubeconfig: str, injection: str, state_dir: Path, log_path: Path) -> None:
        self.kubeconfig = kubeconfig
        self.injection = injection
        self.state_dir = state_dir
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "netclaim_agent",
            "node",
            "--node-name",
            NODE_NAME,
            "--kubeconfig",
            self.kubeconfig,
            "--injection",
            self.injection,
            "--state-dir",
            str(self.state_dir),
            "--metrics-port",
            str(self.port),
            "--log-level",
            "debug",
        ]

    def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(os.environ),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited {self.proc.returncode}:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.2)
        raise AssertionError(f"agent not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as after a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"agent ignored SIGTERM:\n{self.log_tail()}") from None
        left = [str(p) for p in (REGISTRATION_SOCKET, DRA_SOCKET) if p.exists()]
        assert not left, f"agent left its sockets behind after SIGTERM: {left}"
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
