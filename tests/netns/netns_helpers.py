"""`ip` as an independent oracle, and small helpers the netns tests share."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

NETNS_DIR = Path("/var/run/netns")


def ip(*args: str, netns: str | None = None) -> str:
    """Run `ip` (inside `ip netns exec <netns>` when given) and return stdout."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    done = subprocess.run(
        [*prefix, "ip", *args], capture_output=True, text=True, timeout=10, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def ip_json(*args: str, netns: str | None = None) -> Any:
    return json.loads(ip("-j", *args, netns=netns) or "[]")


def in_netns(netns: str, *command: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, *command],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{command} in {netns} failed: {done.stderr.strip()}")
    return done.stdout


def host_links() -> set[str]:
    return {link["ifname"] for link in ip_json("link", "show")}
