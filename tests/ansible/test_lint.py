"""ansible-lint, production profile, over the whole repository (config: .ansible-lint)."""

from __future__ import annotations

from pathlib import Path

import pytest
from collection_tree import REPO, explain, run

pytestmark = pytest.mark.ansible


def test_ansible_lint_production(collection_dir: Path) -> None:
    # The repository is not at ansible_collections/netclaim/dra; the laid-out copy lets
    # ansible-lint resolve netclaim.dra.* modules and check their arguments.
    proc = run(
        ["ansible-lint", "--offline", "--profile", "production"],
        cwd=REPO,
        timeout=600,
        ANSIBLE_COLLECTIONS_PATH=str(collection_dir.parents[2]),
    )
    assert proc.returncode == 0, explain(proc)
