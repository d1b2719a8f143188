"""Fixtures of the cluster tier: an API client and a namespace per test (always deleted)."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fip_workload
import pytest
from agent_process import AgentProcess
from kube import Kube
from workload import fip_claim

from netclaim_agent.apiclient import load_api_client
from netclaim_agent.fip.pool_publisher import PoolPublisher
from testbed import extra_node
from testbed.layout import default_layout


@pytest.fixture(scope="session")
def kube(kubeconfig: str) -> Kube:
    return Kube(kubeconfig)


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    name = f"nctest-{uuid.uuid4().hex[:8]}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube.delete("v1", "Namespace", name)
    # Wait, so that fixtures set up before this one (an agent) still serve the pods' teardown.
    kube.wait_for(
        f"namespace {name} deleted", lambda: kube.get("v1", "Namespace", name) is None, timeout=180
    )


@pytest.fixture(scope="session")
def containerd_socket() -> str:
    return str(default_layout().containerd_socket)


@pytest.fixture(scope="session")
def ctr() -> str:
    return str(default_layout().bin / "ctr")


@pytest.fixture(scope="session")
def agent_rbac(kubeconfig: str, repo_root: Path) -> None:
    """The RBAC the product ships, applied as the agent role applies it."""
    kubectl = default_layout().bin / "kubectl"
    rbac = repo_root / "roles" / "agent" / "files" / "rbac.yaml"
    subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "apply", "-f", str(rbac)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(params=["nri", "cdi"])
def injection(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def agent(agent_rbac: None, injection: str, tmp_path: Path) -> Iterator[AgentProcess]:
    """netclaim-agent as a host process with its own identity and state, stopped after."""
    layout = default_layout()
    proc = AgentProcess(
        str(layout.pki / "netclaim-agent.kubeconfig"),
        injection,
        tmp_path / "state",
        layout.logs / f"netclaim-agent-{injection}.log",
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def device_classes(kube: Kube) -> Iterator[dict[str, str]]:
    """One DeviceClass per virtual kind used by the tests: kind -> class name."""
    names = {}
    for kind in ("veth", "macvlan", "host-device"):
        name = f"nctest-{kind}"
        expression = (
            f'device.driver == "netclaim.io" && device.attributes["netclaim.io"].kind == "{kind}"'
        )
        kube.delete("resource.k8s.io/v1", "DeviceClass", name)
        kube.create(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": "DeviceClass",
                "metadata": {"name": name},
                "spec": {"selectors": [{"cel": {"expression": expression}}]},
            }
        )
        names[kind] = name
    yield names
    for name in names.values():
        kube.delete("resource.k8s.io/v1", "DeviceClass", name)


@pytest.fixture
def standin_nic() -> Iterator[str]:
    """A veth pair standing in for a NIC; its names avoid the agent's own link prefixes."""
    nic = f"ctnic{secrets.token_hex(3)}"
    subprocess.run(
        ["ip", "link", "add", nic, "mtu", "1500", "type", "veth", "peer", "name", f"{nic}p"],
        check=True,
    )
    subprocess.run(["ip", "link", "set", nic, "up"], check=True)
    subprocess.run(["ip", "link", "set", f"{nic}p", "up"], check=True)
    yield nic
    subprocess.run(["ip", "link", "del", nic], check=False, capture_output=True)
    subprocess.run(["ip", "link", "del", f"{nic}p"], check=False, capture_output=True)


def _extra_node(index: int) -> Iterator[str]:
    layout = default_layout()
    extra_node.up(layout, index)
    yield extra_node.name(index)
    extra_node.down(layout, index)


def _extra_agent(index: int, tmp_path: Path) -> Iterator[AgentProcess]:
    layout = default_layout()
    proc = AgentProcess(
        str(layout.pki / "netclaim-agent.kubeconfig"),
        "nri",
        tmp_path / f"state-node{index}",
        layout.logs / f"netclaim-agent-node-{index}.log",
        layout=layout,
        extra=index,
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def node2(kubeconfig: str) -> Iterator[str]:
    """Extra node 2 (its own netns, kubelet, containerd), up for the module using it."""
    yield from _extra_node(2)


@pytest.fixture
def node2_agent(node2: str, agent_rbac: None, tmp_path: Path) -> Iterator[AgentProcess]:
    yield from _extra_agent(2, tmp_path)


@pytest.fixture(scope="module")
def node3(kubeconfig: str) -> Iterator[str]:
    """Extra node 3, for tests that move something between two extra nodes."""
    yield from _extra_node(3)


@pytest.fixture
def node3_agent(node3: str, agent_rbac: None, tmp_path: Path) -> Iterator[AgentProcess]:
    yield from _extra_agent(3, tmp_path)


FIP_CLASS = "nctest-floating-ip"
CRDS = ("crd/floatingippools.netclaim.io", "crd/podnetworks.netclaim.io")


@pytest.fixture(scope="module")
def netclaim_crds(kubeconfig: str, repo_root: Path) -> None:
    kubectl = default_layout().bin / "kubectl"
    subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "apply", "-f", str(repo_root / "crds")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "wait", "--for=condition=Established", *CRDS],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def publisher(kubeconfig: str) -> PoolPublisher:
    return PoolPublisher(load_api_client(kubeconfig))


@pytest.fixture
def fip_class(kube: Kube) -> Iterator[str]:
    kube.delete("resource.k8s.io/v1", "DeviceClass", FIP_CLASS)
    kube.create(
        {
            "apiVersion": "resource.k8s.io/v1",
            "kind": "DeviceClass",
            "metadata": {"name": FIP_CLASS},
            "spec": {
                "selectors": [
                    {
                        "cel": {
                            "expression": 'device.driver == "netclaim.io" && '
                            'device.attributes["netclaim.io"].kind == "floating-ip"'
                        }
                    }
                ]
            },
        }
    )
    yield FIP_CLASS
    kube.delete("resource.k8s.io/v1", "DeviceClass", FIP_CLASS)


@pytest.fixture
def make_pool(kube: Kube, netclaim_crds: None) -> Iterator[Any]:
    made: list[str] = []

    def factory(*cidrs: str, **spec: Any) -> str:
        name = f"nctest-{uuid.uuid4().hex[:6]}"
        kube.create(
            {
                "apiVersion": "netclaim.io/v1alpha1",
                "kind": "FloatingIPPool",
                "metadata": {"name": name},
                "spec": {"cidrs": list(cidrs), **spec},
            }
        )
        made.append(name)
        return name

    yield factory
    for name in made:
        kube.delete("netclaim.io/v1alpha1", "FloatingIPPool", name)


@pytest.fixture
def pinned_fip(
    kube: Kube, make_pool: Any, publisher: PoolPublisher, namespace: str, fip_class: str
) -> Callable[..., str]:
    """`pinned_fip(cidr, address, **pool_spec)`: a Ready pool over `cidr` and the standalone
    claim `fip` pinned to `address` by CEL; returns the pool's name."""

    def make(cidr: str, address: str, **spec: Any) -> str:
        pool = str(make_pool(cidr, **spec))
        assert next(o for o in publisher.reconcile_all() if o.name == pool).ready
        kube.create(fip_claim("fip", namespace, fip_class, ip=address))
        return pool

    return make


@pytest.fixture
def client() -> Iterator[str]:
    """A netns on the test bridge, like a host elsewhere on the nodes' network."""
    ns = f"nctestcl{secrets.token_hex(2)}"
    host_end = f"nctestcl{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(
        ["ip", "link", "add", host_end, "type", "veth", "peer", "c0", "netns", ns], check=True
    )
    subprocess.run(["ip", "link", "set", host_end, "master", extra_node.BRIDGE, "up"], check=True)
    for address in (f"{fip_workload.CLIENT_IP}/24", f"{fip_workload.CLIENT_IP6}/64 nodad"):
        subprocess.run(["ip", "-n", ns, "addr", "add", *address.split(), "dev", "c0"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "c0", "up"], check=True)
    yield ns
    subprocess.run(["ip", "link", "del", host_end], check=False, capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
