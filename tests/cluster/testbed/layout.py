"""Where the test bed keeps its cache, state, sockets and logs, and which versions it pins."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

VERSIONS_FILE = Path(__file__).resolve().parent.parent / "versions.toml"


@dataclass(frozen=True)
class Versions:
    go_toolchain: str
    kubernetes: str
    etcd: str
    containerd: str
    runc: str
    cni_plugins: str
    pause_image: str
    test_image: str


@cache
def versions() -> Versions:
    data = tomllib.loads(VERSIONS_FILE.read_text())
    return Versions(
        go_toolchain=data["go_toolchain"],
        kubernetes=data["kubernetes"]["version"],
        etcd=data["etcd"]["version"],
        containerd=data["containerd"]["version"],
        runc=data["runc"]["version"],
        cni_plugins=data["cni_plugins"]["version"],
        pause_image=data["images"]["pause"],
        test_image=data["images"]["test"],
    )


@dataclass(frozen=True)
class Layout:
    """All paths of one test-bed instance. Built binaries live in `cache`; everything a
    running node creates lives under `state` (removed by `down`) except the directories whose
    paths kubelet plugins and runtimes fix (`/var/lib/kubelet`, `/var/run/nri`, CNI config),
    and the component logs in `logs`."""

    cache: Path
    state: Path
    logs: Path
    """Kept by `down`, for the post-mortem of a failed run."""

    @property
    def gocache(self) -> Path:
        return self.cache / "go"

    def component_dir(self, component: str, version: str) -> Path:
        return self.cache / f"{component}-v{version}"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def config(self) -> Path:
        return self.state / "config"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def containerd_root(self) -> Path:
        return self.state / "containerd"

    @property
    def containerd_state(self) -> Path:
        return Path("/run/netclaim-testbed/containerd")

    @property
    def containerd_socket(self) -> Path:
        return Path("/run/netclaim-testbed/containerd.sock")

    @property
    def admin_kubeconfig(self) -> Path:
        return self.pki / "admin.kubeconfig"

    @property
    def bin(self) -> Path:
        """One directory of symlinks to the pinned binaries, for PATH and for containerd."""
        return self.state / "bin"

    @property
    def cni_bin(self) -> Path:
        return self.state / "cni-bin"


@dataclass(frozen=True)
class NodeSpec:
    """What differs between the node's kubelet+containerd pairs: the first one uses the paths
    kubelet plugins and runtimes expect; extra nodes (each in its own netns) their own."""

    name: str
    address: str
    """kubelet's listen and node address."""
    kubelet_root: Path
    containerd_root: Path
    containerd_state: Path
    containerd_socket: Path
    nri_socket: Path
    cni_conf_dir: Path
    cni_network: str
    cni_bridge: str
    pod_cidr: str
    cdi_dir: Path
    config_dir: Path
    cgroup_root: str = "/"
    pod_logs_dir: Path = Path("/var/log/pods")
    taints: tuple[str, ...] = ()
    """`key=value:Effect`, registered by kubelet."""


KUBELET_ROOT = Path("/var/lib/kubelet")
CNI_CONF_DIR = Path("/etc/cni/net.d")
CNI_CONF_FILE = CNI_CONF_DIR / "10-netclaim-testbed.conflist"
CNI_BRIDGE = "cni0"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/24"
NODE_NAME = "127.0.0.1"
"""The node registers under its loopback address (the local-up-cluster convention), so that
apiserver→kubelet traffic (logs, exec) stays on 127.0.0.1."""


def default_layout() -> Layout:
    cache_dir = Path(os.environ.get("NETCLAIM_CACHE", Path.home() / ".cache" / "netclaim"))
    state_dir = Path(os.environ.get("NETCLAIM_TESTBED_STATE", "/var/lib/netclaim-testbed"))
    logs_dir = Path(os.environ.get("NETCLAIM_TESTBED_LOGS", "/var/log/netclaim-testbed"))
    return Layout(cache=cache_dir, state=state_dir, logs=logs_dir)


def main_node(layout: Layout) -> NodeSpec:
    return NodeSpec(
        name=NODE_NAME,
        address="127.0.0.1",
        kubelet_root=KUBELET_ROOT,
        containerd_root=layout.containerd_root,
        containerd_state=layout.containerd_state,
        containerd_socket=layout.containerd_socket,
        nri_socket=Path("/var/run/nri/nri.sock"),
        cni_conf_dir=CNI_CONF_DIR,
        cni_network="netclaim-testbed",
        cni_bridge=CNI_BRIDGE,
        pod_cidr=POD_CIDR,
        cdi_dir=Path("/var/run/cdi"),
        config_dir=layout.config,
    )
