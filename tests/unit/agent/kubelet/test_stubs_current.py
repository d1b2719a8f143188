"""The generated gRPC/protobuf stubs match proto/ (they are built from it, never edited)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import netclaim_agent

AGENT_DIR = Path(__file__).resolve().parents[4] / "agent"


def test_generated_stubs_are_current(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("protogen", AGENT_DIR / "protogen.py")
    assert spec is not None and spec.loader is not None
    protogen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(protogen)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in protogen.generate(out_root=tmp_path)}
    installed_root = Path(netclaim_agent.__file__).resolve().parent.parent
    stale = [
        str(rel)
        for rel, data in fresh.items()
        if not (installed_root / rel).exists() or (installed_root / rel).read_bytes() != data
    ]
    assert not stale, f"stubs out of date with proto/ (reinstall the agent): {stale}"
