"""Molecule: the `default` scenario (site.yml against this machine and the local node:
syntax, converge, idempotence, verify, cleanup) and a syntax check of the `kind` scenario,
which needs Docker to run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from collection_tree import REPO, explain, run

pytestmark = pytest.mark.ansible


def molecule(
    command: str, scenario: str, wheel: Path, collections: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    return run(
        ["molecule", command, "-s", scenario],
        REPO,
        timeout,
        NETCLAIM_AGENT_PACKAGE=str(wheel),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        NO_COLOR="1",
    )


def test_default_scenario_converges_idempotently_and_verifies(
    kubeconfig: str, wheel: Path, collections: Path
) -> None:
    proc = molecule("test", "default", wheel, collections, 1200)
    assert proc.returncode == 0, explain(proc)
    for step in ("syntax", "converge", "idempotence", "verify", "cleanup"):
        assert f"{step}: Executed: Successful" in proc.stdout + proc.stderr, explain(proc)


def test_kind_scenario_is_valid(wheel: Path, collections: Path) -> None:
    proc = molecule("syntax", "kind", wheel, collections, 300)
    assert proc.returncode == 0, explain(proc)
