"""Process supervision: pid files survive restarts of the tool and never match a reused pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed import procs
from testbed.layout import Layout
from testbed.run import TestbedError


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(cache=tmp_path / "cache", state=tmp_path / "state", logs=tmp_path / "logs")


def test_start_is_idempotent_and_stop_kills(layout: Layout) -> None:
    service = procs.Service("sleeper", ["sleep", "60"], ready=lambda: True)
    procs.start(layout, service)
    pid = procs.running_pid(layout, "sleeper")
    assert pid is not None
    procs.start(layout, service)
    assert procs.running_pid(layout, "sleeper") == pid
    procs.stop(layout, "sleeper", timeout=5)
    assert procs.running_pid(layout, "sleeper") is None
    assert not (layout.pids / "sleeper.pid").exists()


def test_a_reused_pid_is_not_ours(layout: Layout) -> None:
    layout.pids.mkdir(parents=True)
    (layout.pids / "ghost.pid").write_text(f"{os.getpid()} 1\n")
    assert procs.running_pid(layout, "ghost") is None


def test_a_crashing_service_reports_its_log(layout: Layout) -> None:
    service = procs.Service(
        "crasher",
        ["sh", "-c", "echo boom-reason >&2; exit 3"],
        ready=lambda: False,
        ready_timeout=10,
    )
    with pytest.raises(TestbedError, match=r"crasher exited during start-up(.|\n)*boom-reason"):
        procs.start(layout, service)
