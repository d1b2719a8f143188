"""Session-wide fixtures: the real local Kubernetes node that the cluster and Ansible tiers use."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import stop_role_agent

from testbed import node, pki
from testbed.layout import default_layout

CLUSTER_LOCK = "/run/netclaim-testbed.lock"


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[str]:
    """Path of an admin kubeconfig for a running cluster.

    NETCLAIM_KUBECONFIG points at an existing cluster. Otherwise the local test node is
    brought up (built on first use); if this session started it, it is taken down again at
    the end unless NETCLAIM_KEEP_CLUSTER=1."""
    external = os.environ.get("NETCLAIM_KUBECONFIG")
    if external:
        yield external
        return
    if os.geteuid() != 0:
        pytest.fail("the cluster tier needs root (it runs kubelet, containerd and runc)")
    # One node, fixed kubelet plugin socket paths: two sessions (or a session and `make demo`)
    # running agents at once would steal each other's sockets, so they take turns.
    lock = open(CLUSTER_LOCK, "a")  # noqa: SIM115 - held for the whole session
    fcntl.flock(lock, fcntl.LOCK_EX)
    # An agent left by `make demo` would hold the kubelet plugin sockets the tests' agents use.
    if stop_role_agent.stop():
        print("stopped the netclaim-agent that `make demo` left running")
    layout = default_layout()
    was_up = node.is_up(layout)
    if not was_up:
        node.up(layout)
    # A node left up by an older checkout may lack identities added since (up() makes them).
    pki.ensure_pki(layout.pki)
    yield str(layout.admin_kubeconfig)
    if not was_up and os.environ.get("NETCLAIM_KEEP_CLUSTER") != "1":
        node.down(layout)
    lock.close()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
