"""ansible-test sanity on the collection, on this machine's Python, without containers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from collection_tree import explain, run

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = pytest.mark.ansible


def test_sanity(collection_dir: Path) -> None:
    # --local: no containers here. Each sanity test still gets its own pinned venv under
    # ~/.ansible/test/venv (packages from the package index, once, then cached).
    proc = run(
        ["ansible-test", "sanity", "--local", "--python", PYTHON, "--color", "no"],
        cwd=collection_dir,
        timeout=1500,
    )
    assert proc.returncode == 0, explain(proc)
