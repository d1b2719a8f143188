"""Lay the collection out where ansible-test and ansible-galaxy expect it.

ansible-test only works inside ``.../ansible_collections/<namespace>/<name>/``. We copy (not
link) the collection's own files there: a copy keeps the agent, the cluster tooling and git's
untracked files out of sanity's reach and matches what ``ansible-galaxy collection build`` ships.
kubernetes.core, our one dependency, is linked in from the installed ``ansible`` bundle."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_collections  # the installed ``ansible`` bundle; a namespace package
import ansible_test
import pip

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# What the collection is made of (see build_ignore in galaxy.yml for the other direction).
CONTENT = (
    "galaxy.yml",
    "README.md",
    "LICENSE",
    "meta",
    "plugins",
    "roles",
    "playbooks",
    "inventories",
    "changelogs",
    "crds",
    "docs",
    "tests/config.yml",
    "tests/sanity",
    "tests/unit/plugins",
    "tests/integration",
)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "output")


def bundled_collection(namespace: str, name: str) -> Path:
    for base in ansible_collections.__path__:
        candidate = Path(base) / namespace / name
        if (candidate / "MANIFEST.json").exists():
            return candidate
    raise FileNotFoundError(f"{namespace}.{name} is not in the installed ansible bundle")


def lay_out(root: Path) -> Path:
    """Copy the collection to ``root/ansible_collections/netclaim/dra`` and return that path."""
    target = root / "ansible_collections" / "netclaim" / "dra"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for entry in CONTENT:
        source = REPO / entry
        if source.is_dir():
            shutil.copytree(source, target / entry, ignore=_IGNORE, symlinks=True)
        elif source.exists():
            (target / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / entry)
    core = root / "ansible_collections" / "kubernetes" / "core"
    if not core.exists():
        core.parent.mkdir(parents=True, exist_ok=True)
        core.symlink_to(bundled_collection("kubernetes", "core"))
    return target


# ansible-test bootstraps pip in its sanity venvs with get-pip.py from ci-files.testing.ansible.com,
# which this network cannot reach. This stand-in does the same job with the pip we already
# run under; the packages themselves still come from the package index as usual.
_GET_PIP_SHIM = """\
import sys
sys.path.insert(0, {pip_parent!r})
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install"] + args))
"""


def provide_get_pip() -> None:
    """Put the stand-in where ansible-test looks for a cached get-pip.py (if none is there)."""
    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    found = re.search(r"pip='([0-9.]+)'", source.read_text())
    if not found:
        raise RuntimeError(f"cannot tell which pip {source} bootstraps")
    cache = Path.home() / ".ansible" / "test" / "cache"
    script = cache / f"get_pip_{found.group(1).replace('.', '_')}.py"
    if not script.exists():
        cache.mkdir(parents=True, exist_ok=True)
        script.write_text(_GET_PIP_SHIM.format(pip_parent=str(Path(pip.__file__).parent.parent)))


def tool_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # Nobody's personal ansible.cfg or collections may change what we test.
    env.pop("ANSIBLE_CONFIG", None)
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, timeout: int, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a tool; output is captured so a failing test shows it."""
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=tool_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stdout + proc.stderr)[-20000:]
    return f"{' '.join(proc.args)} exited {proc.returncode}:\n{tail}"
