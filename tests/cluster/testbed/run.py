"""Running external commands with their failure named: command line, exit code, output tail."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

log = logging.getLogger("testbed")


class TestbedError(RuntimeError):
    """A step of bringing the node up or down failed; the message says which and why."""

    __test__ = False  # not a pytest test class despite its name


def run(
    argv: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = True,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    args = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(args))
    merged = {**os.environ, "LC_ALL": "C", **(env or {})}
    proc = subprocess.run(args, env=merged, cwd=cwd, text=True, capture_output=capture, check=False)
    if check and proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-30:])
        raise TestbedError(f"`{shlex.join(args)}` exited {proc.returncode}:\n{tail}")
    return proc
