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

from testbed import extra_node
from testbed.layout import KUBELET_ROOT, NODE_NAME, Layout, NodeSpec

DRIVER = "netclaim.io"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AgentProcess:
    """The agent of the first node, or (given `extra`, an index) of an extra node, run inside
    that node's netns with its kubelet, NRI and CDI paths."""

    def __init__(
        self,
        kubeconfig: str,
        injection: str,
        state_dir: Path,
        log_path: Path,
        *,
        layout: Layout | None = None,
        extra: int | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.injection = injection
        self.state_dir = state_dir
        self.log_path = log_path
        self.extra = extra
        self.node: NodeSpec | None = None
        if extra is not None:
            assert layout is not None, "an extra node's agent needs the layout"
            self.node = extra_node.spec(layout, extra)
        self.address = self.node.address if self.node else "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def kubelet_root(self) -> Path:
        return self.node.kubelet_root if self.node else KUBELET_ROOT

    @property
    def sockets(self) -> tuple[Path, Path]:
        return (
            self.kubelet_root / "plugins_registry" / f"{DRIVER}-reg.sock",
            self.kubelet_root / "plugins" / DRIVER / "dra.sock",
        )

    def argv(self) -> list[str]:
        node_flags: list[str] = []
        prefix: list[str] = []
        if self.node is not None and self.extra is not None:
            prefix = ["nsenter", f"--net={extra_node.netns_path(self.extra)}", "--"]
            node_flags = [
                "--kubelet-plugins-dir",
                str(self.node.kubelet_root / "plugins"),
                "--kubelet-registry-dir",
                str(self.node.kubelet_root / "plugins_registry"),
                "--nri-socket",
                str(self.node.nri_socket),
                "--cdi-dir",
                str(self.node.cdi_dir),
            ]
        return [
            *prefix,
            sys.executable,
            "-m",
            "netclaim_agent",
            "node",
            *node_flags,
            "--metrics-address",
            self.address,
            "--node-name",
            self.node.name if self.node else NODE_NAME,
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
            url = f"http://{self.address}:{self.port}/healthz"
            with urllib.request.urlopen(url, timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://{self.address}:{self.port}/metrics", timeout=2) as r:
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
        left = [str(p) for p in self.sockets if p.exists()]
        assert not left, f"agent left its sockets behind after SIGTERM: {left}"
        return code

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
