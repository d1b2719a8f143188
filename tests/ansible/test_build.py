"""The collection builds, installs from its tarball, and documents every module."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from collection_tree import REPO, explain, run

pytestmark = pytest.mark.ansible

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("build")
    proc = run(
        ["ansible-galaxy", "collection", "build", "--output-path", str(out), str(REPO)], REPO, 300
    )
    assert proc.returncode == 0, explain(proc)
    (tarball,) = out.glob("netclaim-dra-*.tar.gz")
    target = tmp_path_factory.mktemp("installed")
    # --no-deps: kubernetes.core comes from the installed ansible bundle, not from Galaxy.
    # --force: a copy in a default path (~/.ansible/collections) would otherwise make the
    # install a no-op and this test read that copy instead.
    proc = run(
        [
            "ansible-galaxy",
            "collection",
            "install",
            "--no-deps",
            "--force",
            "-p",
            str(target),
            str(tarball),
        ],
        REPO,
        300,
    )
    assert proc.returncode == 0, explain(proc)
    return tarball, target


def test_tarball_ships_the_collection_and_not_the_agent(installed: tuple[Path, Path]) -> None:
    tarball, _ = installed
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for required in (
        "MANIFEST.json",
        "meta/runtime.yml",
        "crds/netclaim.io_podnetworks.yaml",
        "crds/netclaim.io_floatingippools.yaml",
        "plugins/module_utils/_client.py",
    ):
        assert required in names, required
    assert not [
        n for n in names if n.startswith(("agent/", "tests/cluster", "tests/output", ".git/"))
    ]


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc(installed: tuple[Path, Path], module: str) -> None:
    _, target = installed
    proc = run(
        ["ansible-doc", f"netclaim.dra.{module}"], REPO, 120, ANSIBLE_COLLECTIONS_PATH=str(target)
    )
    assert proc.returncode == 0, explain(proc)
    assert f"netclaim.dra.{module}" in proc.stdout
    assert "EXAMPLES:" in proc.stdout
