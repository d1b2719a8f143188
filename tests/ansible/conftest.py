"""Fixtures for the Ansible tier: the collection laid out for ansible-test, per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from collection_tree import REPO, explain, lay_out, provide_get_pip, run


@pytest.fixture(scope="session")
def collection_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the collection at ``<tmp>/ansible_collections/netclaim/dra``."""
    provide_get_pip()
    return lay_out(tmp_path_factory.mktemp("collections"))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    proc = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            str(REPO / "agent"),
            "-w",
            str(dist),
        ],
        REPO,
        600,
    )
    assert proc.returncode == 0, explain(proc)
    [built] = dist.glob("netclaim_agent-*.whl")
    return built


@pytest.fixture(scope="session")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "netclaim").mkdir(parents=True)
    (root / "ansible_collections" / "netclaim" / "dra").symlink_to(REPO)
    return root
