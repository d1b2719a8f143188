"""Supervising the node's processes: start detached with a pid file and a log, stop by pid file.

A pid file records the process start time as well, so a pid reused by an unrelated process
after a crash is never mistaken for ours (and never signalled)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.layout import Layout
from testbed.run import TestbedError

log = logging.getLogger("testbed")


@dataclass(frozen=True)
class Service:
    name: str
    argv: Sequence[str]
    ready: Callable[[], bool]
    ready_timeout: float = 120.0
    env: Mapping[str, str] = field(default_factory=dict)


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command (which may contain spaces): state is field 3,
    # starttime field 22. A zombie has exited, whatever its pid file says.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def _pidfile(layout: Layout, name: str) -> Path:
    return layout.pids / f"{name}.pid"


def running_pid(layout: Layout, name: str) -> int | None:
    try:
        pid_text, started = _pidfile(layout, name).read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _start_time(pid) == started else None


def log_tail(layout: Layout, name: str, lines: int = 25) -> str:
    try:
        text = (layout.logs / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def start(layout: Layout, service: Service) -> None:
    """Start `service` unless it already runs, then wait until it is ready."""
    if running_pid(layout, service.name) is None:
        layout.logs.mkdir(parents=True, exist_ok=True)
        layout.pids.mkdir(parents=True, exist_ok=True)
        logfile = (layout.logs / f"{service.name}.log").open("ab")
        env = {**os.environ, **service.env}
        proc = subprocess.Popen(
            list(service.argv),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        logfile.close()
        _pidfile(layout, service.name).write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
        log.info(
            "started %s (pid %d, log %s)",
            service.name,
            proc.pid,
            layout.logs / f"{service.name}.log",
        )
    _wait_ready(layout, service)


def _wait_ready(layout: Layout, service: Service) -> None:
    deadline = time.monotonic() + service.ready_timeout
    while time.monotonic() < deadline:
        if running_pid(layout, service.name) is None:
            raise TestbedError(
                f"{service.name} exited during start-up; last log lines:\n"
                f"{log_tail(layout, service.name)}"
            )
        if service.ready():
            return
        time.sleep(0.5)
    raise TestbedError(
        f"{service.name} not ready after {service.ready_timeout:.0f} s; "
        f"last log lines:\n{log_tail(layout, service.name)}"
    )


def stop(layout: Layout, name: str, timeout: float = 30.0) -> None:
    """SIGTERM the service's process group, SIGKILL after `timeout`; forget its pid file."""
    pid = running_pid(layout, name)
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running_pid(layout, name) is not None and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if running_pid(layout, name) is not None:
            log.warning("%s ignored SIGTERM for %.0f s; killing it", name, timeout)
            _signal_group(pid, signal.SIGKILL)
            _reap(pid)
        log.info("stopped %s", name)
    _pidfile(layout, name).unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the service is our own child (so it does not linger)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
