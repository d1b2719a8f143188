"""`netclaim-agent controller` run as a host process with its own identity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class ControllerProcess:
    def __init__(self, kubeconfig: str, identity: str, log_path: Path) -> None:
        self.kubeconfig = kubeconfig
        self.identity = identity
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "netclaim_agent",
            "controller",
            "--kubeconfig",
            self.kubeconfig,
            "--identity",
            self.identity,
            "--log-level",
            "debug",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(os.environ),
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"controller ignored SIGTERM:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
