"""Fixtures of the cluster tier: an API client and a namespace per test (always deleted)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kube import Kube

from testbed.layout import default_layout


@pytest.fixture(scope="session")
def kube(kubeconfig: str) -> Kube:
    return Kube(kubeconfig)


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = f"nctest-{uuid.uuid4().hex[:8]}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube.delete("v1", "Namespace", name)


@pytest.fixture(scope="session")
def containerd_socket() -> str:
    return str(default_layout().containerd_socket)


@pytest.fixture(scope="session")
def ctr() -> str:
    return str(default_layout().bin / "ctr")
