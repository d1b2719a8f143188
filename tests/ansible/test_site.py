"""playbooks/site.yml against this machine and the running local node (inventories/local):
it converges, a second run changes nothing, the agent it starts serves a pod, and stopping it
through the role removes its kubelet sockets. Bad input fails before anything changes."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stop_role_agent
from collection_tree import REPO, explain, run
from kube import Kube, busybox_pod

pytestmark = pytest.mark.ansible

_RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+"
                    r"failed=(?P<failed>\d+)", re.MULTILINE)  # fmt: skip
PLAYBOOK = ("ansible-playbook", "-i", "inventories/local", "playbooks/site.yml")
SOCKETS = (
    Path("/var/lib/kubelet/plugins_registry/netclaim.io-reg.sock"),
    Path("/var/lib/kubelet/plugins/netclaim.io/dra.sock"),
)


@pytest.fixture
def site(kubeconfig: str, collections: Path, wheel: Path, tmp_path: Path) -> Iterator[Any]:
    def play(*extra: str) -> tuple[int, int, subprocess.CompletedProcess[str]]:
        proc = run(
            [*PLAYBOOK, "-e", f"netclaim_agent_package={wheel}", *extra],
            REPO,
            900,
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        )
        found = _RECAP.search(proc.stdout)
        assert found, explain(proc)
        return int(found["changed"]), int(found["failed"]), proc

    yield play
    stop_role_agent.stop()


def healthy(port: int = 9177) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_site_converges_serves_a_pod_and_stops_cleanly(
    site: Any, kubeconfig: str, tmp_path: Path
) -> None:
    changed, failed, proc = site()
    assert failed == 0, explain(proc)
    assert healthy(), "the agent started by the role does not answer /healthz"
    changed, failed, proc = site()
    assert (changed, failed) == (0, 0), explain(proc)
    changed, failed, proc = site("--check", "--diff")
    assert (changed, failed) == (0, 0), explain(proc)

    kube = Kube(kubeconfig)
    kube.wait_for("the role's controller holds the Lease", lambda: lease_holder(kube), 60)
    for name in ("demo", "demo-address"):
        labels = (kube.get("resource.k8s.io/v1", "DeviceClass", name) or {}).get("metadata", {})
        assert labels.get("labels", {}).get("netclaim.io/pod-network") == "demo", name
    kube.wait_for(
        "PodNetwork demo Ready (the role's controller and agent at work)",
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (
                (kube.get("netclaim.io/v1alpha1", "PodNetwork", "demo") or {}).get("status") or {}
            ).get("conditions")
            or ()
        ),
        60,
    )
    namespace = f"nctest-site-{tmp_path.name[-6:].lower().replace('_', '')}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        kube.create(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "ResourceClaim",
                "metadata": {"name": "site", "namespace": namespace},
                "spec": {
                    "devices": {
                        "requests": [
                            {"name": "net", "exactly": {"deviceClassName": "netclaim-veth"}}
                        ]
                    }
                },
            }
        )
        kube.create(
            busybox_pod(
                "site", namespace, resourceClaims=[{"name": "net", "resourceClaimName": "site"}]
            )
        )
        kube.wait_pod_running("site", namespace)
    finally:
        kube.delete("v1", "Namespace", namespace)
        kube.wait_for(
            f"namespace {namespace} deleted",
            lambda: kube.get("v1", "Namespace", namespace) is None,
            180,
        )

    changed, failed, proc = site("-e", "netclaim_agent_state=stopped")
    assert failed == 0 and changed > 0, explain(proc)
    assert not healthy()
    assert not [s for s in SOCKETS if s.exists()], "the stopped agent left its sockets"
    assert not lease_holder(kube), "the stopped controller did not give up its Lease"


def lease_holder(kube: Kube) -> str | None:
    lease = kube.get("coordination.k8s.io/v1", "Lease", "netclaim-controller", "kube-system")
    return ((lease or {}).get("spec") or {}).get("holderIdentity")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["-e", "netclaim_agent_package=/nonexistent/agent.whl"],
            "must name a netclaim-agent wheel",
        ),
        (
            ["-e", "netclaim_agent_kubeconfig=/nonexistent.kubeconfig"],
            "does not exist on localhost",
        ),
        (
            ["-e", "netclaim_agent_controller_kubeconfig=/nonexistent.kubeconfig"],
            "put the controller's kubeconfig there",
        ),
    ],
)
def test_bad_agent_input_fails_before_changing_anything(
    site: Any, extra: list[str], message: str
) -> None:
    before = sorted(p.name for p in Path("/opt").glob("netclaim*"))
    _, failed, proc = site(*extra)
    assert failed == 1, explain(proc)
    assert message in proc.stdout, explain(proc)
    assert sorted(p.name for p in Path("/opt").glob("netclaim*")) == before


def test_unreachable_api_server_fails_the_cluster_objects(site: Any, tmp_path: Path) -> None:
    config = tmp_path / "nowhere.kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "x", "user": {"token": "x"}}],
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
                "current-context": "x",
            }
        )
    )
    _, failed, proc = site(
        "-e",
        f"cluster_objects_kubeconfig={config}",
        "-e",
        f"netclaim_agent_admin_kubeconfig={config}",
    )
    assert failed == 1, explain(proc)
    assert "127.0.0.1:1" in proc.stdout or "Connection refused" in proc.stdout, explain(proc)
