"""Session-wide fixtures: the real local Kubernetes node that the cluster and Ansible tiers use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import node
from testbed.layout import default_layout


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
    layout = default_layout()
    was_up = node.is_up(layout)
    if not was_up:
        node.up(layout)
    yield str(layout.admin_kubeconfig)
    if not was_up and os.environ.get("NETCLAIM_KEEP_CLUSTER") != "1":
        node.down(layout)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
