"""Fixtures for the Ansible tier: the collection laid out for ansible-test, per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from collection_tree import lay_out, provide_get_pip


@pytest.fixture(scope="session")
def collection_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the collection at ``<tmp>/ansible_collections/netclaim/dra``."""
    provide_get_pip()
    return lay_out(tmp_path_factory.mktemp("collections"))
