"""Make ``ansible_collections.netclaim.dra`` importable when plain pytest runs from the repo.

ansible-test units already runs from an ``ansible_collections/netclaim/dra`` tree; plain pytest
gets a temporary one whose ``dra`` is a symlink to the repository root. ``ansible_collections``
is a namespace package, so kubernetes.core from the installed ``ansible`` bundle stays visible."""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

if importlib.util.find_spec("ansible_collections.netclaim") is None:
    _root = Path(tempfile.mkdtemp(prefix="netclaim-collections-"))
    atexit.register(shutil.rmtree, _root, ignore_errors=True)
    (_root / "ansible_collections" / "netclaim").mkdir(parents=True)
    (_root / "ansible_collections" / "netclaim" / "dra").symlink_to(REPO)
    sys.path.insert(0, str(_root))
