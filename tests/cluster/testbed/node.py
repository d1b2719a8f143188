"""Bring the local node up and down.

`up` builds what is missing, writes configuration, and starts (or keeps) each component in
dependency order, waiting for each to be ready; run it again after a crash and it restarts
only what is not running. `down` stops what `up` started and removes what it created."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

from testbed import build, config, extra_node, images, pki, probes, procs
from testbed.layout import (
    CNI_BRIDGE,
    CNI_CONF_FILE,
    KUBELET_ROOT,
    NODE_NAME,
    Layout,
    main_node,
)
from testbed.procs import Service
from testbed.run import TestbedError, run

log = logging.getLogger("testbed")

# Paths that kubelet, runtimes and DRA plugins fix; `up` records which of them it created.
FIXED_DIRS = (
    KUBELET_ROOT / "plugins_registry",
    KUBELET_ROOT / "plugins",
    Path("/var/run/cdi"),
    Path("/var/run/nri"),
    CNI_CONF_FILE.parent,
)
CNI_STATE = Path("/var/lib/cni/networks/netclaim-testbed")
SERVICES_IN_STOP_ORDER = (
    "kubelet",
    "containerd",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
)


def _record_created(layout: Layout, path: Path) -> None:
    """Create `path` (with parents); remember the top-most directory we had to create."""
    top = path
    while not top.parent.exists():
        top = top.parent
    if path.exists():
        return
    record = layout.state / "created.json"
    created = json.loads(record.read_text()) if record.exists() else []
    if str(top) not in created:
        created.append(str(top))
        record.write_text(json.dumps(created))
    path.mkdir(parents=True, exist_ok=True)


def _link_binaries(layout: Layout) -> None:
    for target_dir, component in (
        (layout.bin, "kubernetes"),
        (layout.bin, "etcd"),
        (layout.bin, "containerd"),
        (layout.bin, "runc"),
        (layout.cni_bin, "cni-plugins"),
    ):
        target_dir.mkdir(parents=True, exist_ok=True)
        for binary in build.binary_dir(layout, component).iterdir():
            link = target_dir / binary.name
            if link.is_symlink() and link.resolve() == binary.resolve():
                continue
            link.unlink(missing_ok=True)
            link.symlink_to(binary)


def _write_configs(layout: Layout) -> None:
    layout.config.mkdir(parents=True, exist_ok=True)
    node = main_node(layout)
    (layout.config / "containerd.toml").write_text(config.containerd_config(layout, node))
    (layout.config / "kubelet.yaml").write_text(config.kubelet_config(layout, node))
    for directory in FIXED_DIRS:
        _record_created(layout, directory)
    CNI_CONF_FILE.write_text(config.cni_conflist(node))


def services(layout: Layout) -> list[Service]:
    path_env = {"PATH": f"{layout.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return [
        Service("etcd", config.etcd_argv(layout), probes.etcd_ready),
        Service(
            "kube-apiserver",
            config.apiserver_argv(layout),
            lambda: probes.apiserver_ready(layout),
            ready_timeout=180,
        ),
        Service(
            "kube-controller-manager",
            config.controller_manager_argv(layout),
            probes.controller_manager_ready,
        ),
        Service("kube-scheduler", config.scheduler_argv(layout), probes.scheduler_ready),
        Service(
            "containerd",
            [str(layout.bin / "containerd"), "--config", str(layout.config / "containerd.toml")],
            lambda: probes.socket_ready(layout.containerd_socket),
            env=path_env,
        ),
        Service(
            "kubelet",
            config.kubelet_argv(layout, main_node(layout)),
            lambda: probes.kubelet_ready("127.0.0.1"),
            env=path_env,
        ),
    ]


def up(layout: Layout) -> None:
    started = time.monotonic()
    layout.state.mkdir(parents=True, exist_ok=True)
    layout.state.chmod(0o700)
    images.ensure_tools()
    build.ensure_all_built(layout)
    _link_binaries(layout)
    pki.ensure_pki(layout.pki)
    _write_configs(layout)
    for service in services(layout):
        procs.start(layout, service)
        if service.name == "containerd":
            images.import_images(layout, layout.bin / "ctr")
    _wait_node_ready(layout)
    log.info(
        "node %s Ready in %.0f s; KUBECONFIG=%s; logs in %s",
        NODE_NAME,
        time.monotonic() - started,
        layout.admin_kubeconfig,
        layout.logs,
    )


def _wait_node_ready(layout: Layout, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probes.node_ready(layout, NODE_NAME):
            return
        time.sleep(1)
    raise TestbedError(
        f"node {NODE_NAME} not Ready after {timeout:.0f} s; kubelet log:\n"
        f"{procs.log_tail(layout, 'kubelet')}"
    )


def is_up(layout: Layout) -> bool:
    return all(
        procs.running_pid(layout, s) is not None for s in SERVICES_IN_STOP_ORDER
    ) and probes.node_ready(layout, NODE_NAME)


def down(layout: Layout) -> None:
    """Stop every component `up` started and remove everything it created."""
    for index in extra_node.started(layout):
        extra_node.down(layout, index)
    procs.stop(layout, "kubelet")
    _kill_containers(layout)
    procs.stop(layout, "containerd")
    _kill_orphan_shims(layout)
    for name in SERVICES_IN_STOP_ORDER[2:]:
        procs.stop(layout, name)
    _unmount_under(
        (
            KUBELET_ROOT,
            layout.state,
            layout.containerd_state.parent,
            Path("/run/netns"),
            Path("/var/run/netns"),
        )
    )
    _remove_netns()
    run(["ip", "link", "delete", CNI_BRIDGE], check=False)
    CNI_CONF_FILE.unlink(missing_ok=True)
    shutil.rmtree(CNI_STATE, ignore_errors=True)
    _remove_kubepods_cgroups()
    record = layout.state / "created.json"
    for created in json.loads(record.read_text()) if record.exists() else []:
        shutil.rmtree(created, ignore_errors=True)
    shutil.rmtree(layout.containerd_state.parent, ignore_errors=True)
    shutil.rmtree(layout.state, ignore_errors=True)
    log.info("node down; removed %s", layout.state)


def _kill_containers(layout: Layout) -> None:
    ctr = layout.bin / "ctr"
    if not ctr.exists() or procs.running_pid(layout, "containerd") is None:
        return
    base = [str(ctr), "--address", str(layout.containerd_socket), "-n", "k8s.io"]
    for cid in run([*base, "containers", "ls", "-q"], check=False).stdout.split():
        run([*base, "tasks", "kill", "-s", "SIGKILL", cid], check=False)
        run([*base, "tasks", "delete", "--force", cid], check=False)
        run([*base, "containers", "delete", cid], check=False)


def _kill_orphan_shims(layout: Layout) -> None:
    """Shims outlive containerd by design; kill ours (matched by binary) and their children."""
    shim = (build.binary_dir(layout, "containerd") / "containerd-shim-runc-v2").resolve()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = (proc / "exe").resolve()
        except OSError:
            continue
        if exe == shim:
            run(["kill", "-9", f"-{proc.name}"], check=False)
            run(["kill", "-9", proc.name], check=False)


def _mount_points() -> list[Path]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces and other specials octal-escaped.
        points.append(Path(line.split()[4].encode().decode("unicode_escape")))
    return points


def _unmount_under(roots: tuple[Path, ...]) -> None:
    targets = [p for p in _mount_points() if any(p == r or r in p.parents for r in roots)]
    for point in sorted(set(targets), key=lambda p: len(p.parts), reverse=True):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


def _remove_netns() -> None:
    for netns_dir in (Path("/run/netns"), Path("/var/run/netns")):
        if netns_dir.is_dir():
            for ns in netns_dir.glob("cni-*"):
                ns.unlink(missing_ok=True)


def _remove_kubepods_cgroups() -> None:
    for controller in Path("/sys/fs/cgroup").iterdir():
        top = controller / "kubepods"
        if not top.is_dir():
            continue
        for cgroup in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if cgroup.is_dir():
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
