"""Fixtures for tests that need root and real network namespaces.

Every namespace and link a test creates is named `nctest…` and deleted in teardown, whether
the test passed or not; `no_link_leaks` fails a test that leaves any new host link behind.
The machine's uplink and default route are never touched.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "agent"))

from driver_harness import Harness
from netns_helpers import host_links, ip

from netclaim_agent.model import Injection, InventoryDevice


@pytest.fixture(autouse=True)
def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces and links")


@pytest.fixture(autouse=True)
def no_link_leaks(require_root: None) -> Iterator[None]:
    """Fail (after cleaning up) if the test left links in the host netns."""
    before = host_links()
    yield
    leaked = host_links() - before
    for name in leaked:
        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=10, check=False)
    assert not leaked, f"links leaked into the host netns: {sorted(leaked)}"


@pytest.fixture
def make_netns(require_root: None) -> Iterator[Callable[[], str]]:
    """Create `nctest…` namespaces; all are deleted at teardown."""
    created: list[str] = []

    def factory() -> str:
        name = f"nctest{secrets.token_hex(4)}"
        ip("netns", "add", name)
        created.append(name)
        return name

    yield factory
    for name in created:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)


@pytest.fixture
def standin_nic(require_root: None) -> Iterator[tuple[str, str]]:
    """A veth pair in the host netns standing in for a physical NIC: (nic, its wire peer)."""
    tag = secrets.token_hex(3)
    nic, peer = f"nctest{tag}n", f"nctest{tag}p"
    ip("link", "add", nic, "mtu", "1496", "type", "veth", "peer", "name", peer)
    ip("link", "set", peer, "up")
    ip("link", "set", nic, "up")
    yield nic, peer
    for name in (nic, peer):
        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=10, check=False)


@pytest.fixture
def harness_for(tmp_path: Path) -> Callable[..., Harness]:
    def factory(
        injection: Injection,
        inventory: Mapping[str, InventoryDevice],
        sysfs_root: Path = Path("/sys"),
        **driver_options: Any,
    ) -> Harness:
        return Harness(tmp_path, injection, inventory, sysfs_root, **driver_options)

    return factory


@pytest.fixture
def node_forwards(require_root: None) -> Iterator[None]:
    """This host forwards IPv4 while the test runs (a Kubernetes node does; a fresh machine
    may not), as floating IPs routed through the node need."""
    path = Path("/proc/sys/net/ipv4/ip_forward")
    before = path.read_text().strip()
    path.write_text("1")
    yield
    path.write_text(before)
