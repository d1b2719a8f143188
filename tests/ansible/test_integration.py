"""ansible-test integration targets against the real local cluster, one pytest test each.

The targets read the kubeconfig and the collection path from
tests/integration/integration_config.yml, which is written here for each run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from collection_tree import REPO, explain, run
from kubernetes import client, config

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
TARGETS_DIR = REPO / "tests" / "integration" / "targets"
TARGETS = sorted(
    t.name
    for t in TARGETS_DIR.iterdir()
    if (t / "aliases").exists() and "disabled" not in (t / "aliases").read_text().split()
)

pytestmark = [pytest.mark.ansible, pytest.mark.cluster]


@pytest.fixture(scope="module")
def configured(collection_dir: Path, kubeconfig: str) -> Iterator[Path]:
    config_file = collection_dir / "tests" / "integration" / "integration_config.yml"
    config_file.write_text(
        f"netclaim_kubeconfig: {kubeconfig}\nnetclaim_collection_root: {collection_dir}\n"
    )
    api = config.new_client_from_config(config_file=kubeconfig)
    extensions = client.ApiextensionsV1Api(api)
    had_crds = {c.metadata.name for c in extensions.list_custom_resource_definition().items}
    yield collection_dir
    # Leave the cluster as we found it: the targets' namespace, and the CRDs if we added them.
    client.CoreV1Api(api).delete_namespace("netclaim-it", _preload_content=False)
    for name in ("podnetworks.netclaim.io", "floatingippools.netclaim.io"):
        if name not in had_crds:
            extensions.delete_custom_resource_definition(name, _preload_content=False)


@pytest.mark.parametrize("target", TARGETS)
def test_integration_target(configured: Path, target: str) -> None:
    proc = run(
        ["ansible-test", "integration", "--local", "--python", PYTHON, "--color", "no", target],
        cwd=configured,
        timeout=900,
    )
    assert proc.returncode == 0, explain(proc)
