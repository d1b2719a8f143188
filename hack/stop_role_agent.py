"""Stop a netclaim-agent that the agent role runs under supervisord (make demo, molecule).

The test suite calls it too: its agents use the same kubelet socket paths, so a demo agent
left running would take their place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PREFIX = Path("/opt/netclaim")  # the agent role's default netclaim_agent_prefix


def stop(prefix: Path = PREFIX) -> bool:
    """True if an agent was running and has been stopped."""
    ctl, conf = prefix / "venv/bin/supervisorctl", prefix / "supervisord.conf"
    if not (ctl.exists() and conf.exists()):
        return False
    pid = subprocess.run([ctl, "-c", conf, "pid"], capture_output=True, text=True, check=False)
    if not pid.stdout.strip().isdigit():
        return False
    supervisord = int(pid.stdout.strip())
    subprocess.run([ctl, "-c", conf, "shutdown"], capture_output=True, check=True, timeout=60)
    # shutdown returns at once; supervisord exits after the agent did (sockets removed).
    deadline = time.monotonic() + 60
    while Path(f"/proc/{supervisord}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if Path(f"/proc/{supervisord}").exists():
        os.kill(supervisord, 9)
    return True


if __name__ == "__main__":
    print("stopped the role's netclaim-agent" if stop() else "no role-run netclaim-agent running")
    sys.exit(0)
