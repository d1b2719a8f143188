"""Extra nodes on the same machine, joined to the local control plane.

Node N (N >= 2) is a network namespace `ncnodeN` on the test bridge `ncbr0` (host side
198.18.250.1/24, node 198.18.250.N), running its own containerd and kubelet in the host's mount
namespace with its own directories, sockets, NRI socket, CNI network and pod CIDR
(10.244.N.0/24), cgroup root and pod log directory. The API server stays on the host's
loopback; two relays carry 127.0.0.1:6443 of the node's netns to it through a unix socket.

Extra nodes register with the taint `netclaim.io/extra-node=true:NoSchedule`, so only pods that
tolerate it (the multi-node tests' pods) ever land there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from testbed import config, images, pki, probes, procs
from testbed.layout import Layout, NodeSpec
from testbed.procs import Service
from testbed.run import TestbedError, run

log = logging.getLogger("testbed")

BRIDGE = "ncbr0"
BRIDGE_IP = "198.18.250.1"
SUBNET6 = "fd5e:250::"
"""The nodes' IPv6 subnet (/64) on the bridge: node N is fd5e:250::N."""
TAINT = "netclaim.io/extra-node=true:NoSchedule"
TESTBED_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _check_index(index: int) -> int:
    if not 2 <= index <= 9:
        raise TestbedError(f"extra node index must be 2..9, not {index}")
    return index


def name(index: int) -> str:
    return f"netclaim-node-{_check_index(index)}"


def netns(index: int) -> str:
    return f"ncnode{_check_index(index)}"


def netns_path(index: int) -> Path:
    return Path("/var/run/netns") / netns(index)


def address(index: int) -> str:
    return f"198.18.250.{_check_index(index)}"


def address6(index: int) -> str:
    return f"{SUBNET6}{_check_index(index)}"


def run_dir(index: int) -> Path:
    return Path(f"/run/netclaim-testbed/node-{_check_index(index)}")


def spec(layout: Layout, index: int) -> NodeSpec:
    base = layout.state / f"node-{_check_index(index)}"
    runtime = run_dir(index)
    return NodeSpec(
        name=name(index),
        address=address(index),
        kubelet_root=base / "kubelet",
        containerd_root=base / "containerd",
        containerd_state=runtime / "containerd",
        containerd_socket=runtime / "containerd.sock",
        nri_socket=runtime / "nri.sock",
        cni_conf_dir=base / "cni",
        cni_network=f"netclaim-testbed-node-{index}",
        cni_bridge="cni0",
        pod_cidr=f"10.244.{index}.0/24",
        cdi_dir=runtime / "cdi",
        config_dir=base / "config",
        cgroup_root=f"/netclaim-node-{index}",
        pod_logs_dir=base / "pod-logs",
        taints=(TAINT,),
    )


def _service_name(index: int, component: str) -> str:
    return f"node-{index}-{component}"


def _in_netns(index: int, *argv: str) -> list[str]:
    # nsenter, not `ip netns exec`: that also makes a private mount namespace, and kubelet
    # and containerd must see each other's mounts.
    return ["nsenter", f"--net={netns_path(index)}", "--", *argv]


def _relay(listen: str, target: str) -> list[str]:
    return [sys.executable, "-m", "testbed.relay", listen, target]


def services(layout: Layout, index: int) -> list[Service]:
    node = spec(layout, index)
    api_socket = run_dir(index) / "api.sock"
    env = {
        "PATH": f"{layout.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(TESTBED_PACKAGE_ROOT),
    }
    return [
        Service(
            _service_name(index, "api-relay-host"),
            _relay(f"unix:{api_socket}", "tcp:127.0.0.1:6443"),
            lambda: probes.socket_ready(api_socket),
            env=env,
        ),
        Service(
            _service_name(index, "api-relay-node"),
            _in_netns(index, *_relay("tcp:127.0.0.1:6443", f"unix:{api_socket}")),
            lambda: True,
            env=env,
        ),
        Service(
            _service_name(index, "containerd"),
            _in_netns(
                index,
                str(layout.bin / "containerd"),
                "--config",
                str(node.config_dir / "containerd.toml"),
            ),
            lambda: probes.socket_ready(node.containerd_socket),
            env=env,
        ),
        Service(
            _service_name(index, "kubelet"),
            _in_netns(
                index, *config.kubelet_argv(layout, node, kubeconfig=f"kubelet-node-{index}")
            ),
            lambda: probes.kubelet_ready(node.address),
            env=env,
        ),
    ]


def _network(index: int) -> None:
    if run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        # Floods multicast like a plain switch: IPv6 neighbour discovery needs no MLD querier.
        run(["ip", "link", "add", BRIDGE, "type", "bridge", "mcast_snooping", "0"])
        run(["ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", BRIDGE])
        run(["ip", "link", "set", BRIDGE, "up"])
    if not netns_path(index).exists():
        run(["ip", "netns", "add", netns(index)])
    host_end = f"ncn{index}h"
    if run(["ip", "link", "show", host_end], check=False).returncode != 0:
        # The node's end is made inside its netns: the host has an eth0 of its own.
        run(["ip", "link", "add", host_end, "type", "veth", "peer", "eth0", "netns", netns(index)])
        run(["ip", "link", "set", host_end, "master", BRIDGE, "up"])
        ns = ["ip", "-n", netns(index)]
        run([*ns, "addr", "add", f"{address(index)}/24", "dev", "eth0"])
        run([*ns, "addr", "add", f"{address6(index)}/64", "dev", "eth0", "nodad"])
        run([*ns, "link", "set", "eth0", "up"])
        run([*ns, "link", "set", "lo", "up"])
        run([*ns, "route", "add", "default", "via", BRIDGE_IP])
        # A node forwards for its pods (a new netns starts with forwarding off); proxy_ndp
        # lets it answer for the IPv6 floating IPs it announces, as an admin would set it.
        sysctls = (
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.eth0.proxy_ndp=1",
        )
        run(["ip", "netns", "exec", netns(index), "sysctl", "-q", "-w", *sysctls])


def _write_configs(layout: Layout, index: int) -> None:
    node = spec(layout, index)
    for directory in (node.config_dir, node.cni_conf_dir, node.cdi_dir, node.pod_logs_dir):
        directory.mkdir(parents=True, exist_ok=True)
    (node.kubelet_root / "plugins").mkdir(parents=True, exist_ok=True)
    (node.kubelet_root / "plugins_registry").mkdir(parents=True, exist_ok=True)
    (node.config_dir / "containerd.toml").write_text(config.containerd_config(layout, node))
    (node.config_dir / "kubelet.yaml").write_text(
        config.kubelet_config(layout, node, cert=f"kubelet-node-{index}")
    )
    (node.cni_conf_dir / "10-netclaim-testbed.conflist").write_text(config.cni_conflist(node))


def _cgroup_root(root: str) -> None:
    """kubelet wants its cgroup root to exist in every v1 hierarchy before it starts."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        if not controller.is_dir() or controller.is_symlink():
            continue
        target = controller / root.lstrip("/")
        target.mkdir(exist_ok=True)
        for inherited in ("cpuset.cpus", "cpuset.mems"):  # empty in a new cpuset cgroup
            if (target / inherited).exists() and not (target / inherited).read_text().strip():
                (target / inherited).write_text((controller / inherited).read_text())


def _credentials(layout: Layout, index: int) -> None:
    leaf = pki.Leaf(
        f"kubelet-node-{index}",
        f"system:node:{name(index)}",
        organization="system:nodes",
        server=True,
        sans=(f"IP:{address(index)}",),
    )
    pki.ensure_leaf(layout.pki, leaf)
    kubeconfig = layout.pki / f"kubelet-node-{index}.kubeconfig"
    if not kubeconfig.exists():
        pki.write_kubeconfig(kubeconfig, layout.pki, leaf.name)


def up(layout: Layout, index: int) -> None:
    """Start node `index` (the control plane must be up); idempotent, like `node.up`."""
    started = time.monotonic()
    _network(index)
    _credentials(layout, index)
    _write_configs(layout, index)
    run_dir(index).mkdir(parents=True, exist_ok=True)
    node = spec(layout, index)
    _cgroup_root(node.cgroup_root)
    for service in services(layout, index):
        procs.start(layout, service)
        if service.name.endswith("-containerd"):
            images.import_images(layout, layout.bin / "ctr", node.containerd_socket)
    deadline = time.monotonic() + 120
    while not probes.node_ready(layout, node.name):
        if time.monotonic() > deadline:
            raise TestbedError(
                f"node {node.name} not Ready after 120 s; kubelet log:\n"
                f"{procs.log_tail(layout, _service_name(index, 'kubelet'))}"
            )
        time.sleep(1)
    log.info("node %s Ready in %.0f s", node.name, time.monotonic() - started)


def started(layout: Layout) -> list[int]:
    """Extra nodes with anything left to stop (a netns or a running component)."""
    return [
        index
        for index in range(2, 10)
        if netns_path(index).exists()
        or any(procs.running_pid(layout, s.name) is not None for s in services(layout, index))
    ]


def is_up(layout: Layout, index: int) -> bool:
    return all(
        procs.running_pid(layout, s.name) is not None for s in services(layout, index)
    ) and probes.node_ready(layout, name(index))


def down(layout: Layout, index: int) -> None:
    """Stop node `index`, delete its Node object and remove everything `up` made for it."""
    node = spec(layout, index)
    procs.stop(layout, _service_name(index, "kubelet"))
    pod_netns = _kill_containers(layout, index)
    procs.stop(layout, _service_name(index, "containerd"))
    _kill_shims(node)
    for component in ("api-relay-node", "api-relay-host"):
        procs.stop(layout, _service_name(index, component))
    kubectl = [str(layout.bin / "kubectl"), "--kubeconfig", str(layout.admin_kubeconfig)]
    if Path(kubectl[0]).exists():
        run(
            [*kubectl, "delete", "node", node.name, "--ignore-not-found", "--wait=false"],
            check=False,
        )
    _unmount_under((node.kubelet_root, run_dir(index), *pod_netns))
    for path in pod_netns:
        path.unlink(missing_ok=True)
    run(["ip", "netns", "delete", netns(index)], check=False)
    run(["ip", "link", "delete", f"ncn{index}h"], check=False)
    if not [p for p in Path(f"/sys/class/net/{BRIDGE}/brif").glob("*")]:
        run(["ip", "link", "delete", BRIDGE], check=False)
    shutil.rmtree(Path("/var/lib/cni/networks") / node.cni_network, ignore_errors=True)
    _remove_cgroups(node.cgroup_root)
    shutil.rmtree(layout.state / f"node-{index}", ignore_errors=True)
    shutil.rmtree(run_dir(index), ignore_errors=True)
    log.info("node %s down", node.name)


def _kill_containers(layout: Layout, index: int) -> list[Path]:
    """Kill every container of the node; return its pod sandboxes' netns paths."""
    node = spec(layout, index)
    ctr = layout.bin / "ctr"
    if not ctr.exists() or procs.running_pid(layout, _service_name(index, "containerd")) is None:
        return []
    base = [str(ctr), "--address", str(node.containerd_socket), "-n", "k8s.io"]
    pod_netns = []
    for cid in run([*base, "containers", "ls", "-q"], check=False).stdout.split():
        info = run([*base, "containers", "info", cid], check=False).stdout
        with contextlib.suppress(ValueError, KeyError, TypeError):
            for ns in json.loads(info)["Spec"]["linux"]["namespaces"]:
                if ns.get("type") == "network" and ns.get("path"):
                    pod_netns.append(Path(ns["path"]))
        run([*base, "tasks", "kill", "-s", "SIGKILL", cid], check=False)
        run([*base, "tasks", "delete", "--force", cid], check=False)
        run([*base, "containers", "delete", cid], check=False)
    return sorted(set(pod_netns))


def _kill_shims(node: NodeSpec) -> None:
    """This node's shims only: they name its containerd socket on their command line."""
    marker = str(node.containerd_socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and marker in cmdline:
            run(["kill", "-9", proc.name], check=False)


def _unmount_under(roots: tuple[Path, ...]) -> None:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if any(point == r or r in point.parents for r in roots):
            points.append(point)
    for point in sorted(set(points), key=lambda p: len(p.parts), reverse=True):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


def _remove_cgroups(root: str) -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        top = controller / root.lstrip("/")
        if not top.is_dir():
            continue
        for cgroup in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if cgroup.is_dir():
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
