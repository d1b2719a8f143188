"""Discovery at scale: 500 veth pairs (1,000 interfaces) in a namespace of our own.

Times a full `Inventory.refresh()` (link dump, default-route lookup, sysfs probes, building
3,000+ devices) and `build_slices` on the result. Needs root; the namespace is always deleted.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netclaim_agent.discovery import Inventory
from netclaim_agent.slices import build_slices

PAIRS = 500
RUNS = 5


def make_links(netns: str) -> None:
    batch = "".join(f"link add a{i:04d} type veth peer name b{i:04d}\n" for i in range(PAIRS))
    subprocess.run(
        ["ip", "-n", netns, "-batch", "-"], input=batch, text=True, check=True, timeout=120
    )


def main() -> int:
    if os.geteuid() != 0:
        print("skipped: needs root to create a network namespace")
        return 0
    netns = f"nctest{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", netns], check=True, timeout=10)
    try:
        make_links(netns)
        with tempfile.TemporaryDirectory() as sysfs:
            refresh: list[float] = []
            build: list[float] = []
            for _ in range(RUNS):
                inventory = Inventory(sysfs_root=Path(sysfs), netns=netns)
                started = time.perf_counter()
                inventory.refresh()
                middle = time.perf_counter()
                slices = build_slices("bench-node", "uid", inventory.devices(), 1)
                build.append(time.perf_counter() - middle)
                refresh.append(middle - started)
        devices = len(inventory.devices())  # from the last run
        print(f"interfaces: {2 * PAIRS}, devices: {devices}, slices: {len(slices)}")
        print(f"refresh (discover):   median {statistics.median(refresh):.3f} s")
        print(f"build_slices:         median {statistics.median(build):.3f} s")
        total = statistics.median(r + b for r, b in zip(refresh, build, strict=True))
        print(f"refresh + build:      median {total:.3f} s over {RUNS} runs")
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False, timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
