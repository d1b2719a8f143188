"""Moving a running TCP server with its floating IP between nodes needs CRIU >= 4.1 (older
releases fail on kernels >= 6.13: criu #2532). MPTCP sockets cannot be checkpointed by any
CRIU release (criu #2655), so no such test exists for them."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

MINIMUM = (4, 1)


def criu_version() -> tuple[int, ...] | None:
    binary = shutil.which("criu")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"Version:\s*(\d+)\.(\d+)", out.stdout)
    return tuple(int(n) for n in found.groups()) if found else None


def test_tcp_server_moves_with_its_floating_ip() -> None:
    version = criu_version()
    if version is None or version < MINIMUM:
        found = "not installed" if version is None else ".".join(map(str, version))
        pytest.skip(
            f"needs CRIU >= {'.'.join(map(str, MINIMUM))} (found: {found}; Debian bookworm "
            "ships 3.17.1, which cannot checkpoint on this kernel)"
        )
    pytest.fail("CRIU >= 4.1 found, but the checkpoint/restore move is not written yet")
