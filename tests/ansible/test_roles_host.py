"""The host-provisioning roles (sriov, rdma, mptcp, container_runtime) run for real.

Each role is applied to this machine with ansible-playbook (localhost, local connection), but
aimed at things the test owns: a fake sysfs tree for SR-IOV, files in temp directories, a
network namespace for MPTCP (always deleted), a copy of a containerd config. Every role gets
a check-mode run that must change nothing on disk, a converge, a second converge that must
report changed=0, and its bad-input cases, which must fail with a message saying what to fix
and leave the disk as it was.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from collection_tree import REPO, explain, run

pytestmark = pytest.mark.ansible

PLAYBOOKS = Path(__file__).parent / "roles"
HOST_ROLES = ("sriov", "rdma", "mptcp", "container_runtime")
CONTAINERD = Path.home() / ".cache/netclaim/containerd-v2.2.9/bin/containerd"
RUNC = Path.home() / ".cache/netclaim/runc-v1.4.3/bin/runc"
LIVE_CONTAINERD_CONFIG = Path("/var/lib/netclaim-testbed/config/containerd.toml")
_RECAP = re.compile(
    r"^localhost\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Result:
    proc: subprocess.CompletedProcess[str]
    changed: int
    failed: int

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


Play = Callable[..., Result]


@pytest.fixture(scope="module")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections root where ``netclaim.dra`` is this checkout (a symlink, not a copy)."""
    root = tmp_path_factory.mktemp("collections")
    namespace = root / "ansible_collections" / "netclaim"
    namespace.mkdir(parents=True)
    (namespace / "dra").symlink_to(REPO)
    return root


@pytest.fixture
def play(collections_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Play:
    """Run tests/ansible/roles/<role>.yml with the given variables; return the recap."""
    scratch = tmp_path_factory.mktemp("play")  # apart from the trees the tests watch

    def _play(
        role: str, variables: dict[str, Any], *args: str, prefix: tuple[str, ...] = ()
    ) -> Result:
        vars_file = scratch / f"vars-{uuid.uuid4().hex}.json"
        vars_file.write_text(json.dumps(variables))
        cmd = [
            *prefix,
            "ansible-playbook",
            "-i",
            "localhost,",
            str(PLAYBOOKS / f"{role}.yml"),
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            f"@{vars_file}",
            *args,
        ]
        proc = run(
            cmd,
            REPO,
            600,
            ANSIBLE_COLLECTIONS_PATH=str(collections_path),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_LOCAL_TEMP=str(scratch / "ansible-tmp"),
        )
        found = _RECAP.search(proc.stdout)
        assert found, explain(proc)
        return Result(proc, int(found["changed"]), int(found["failed"]))

    return _play


def converge_twice(play: Play, role: str, variables: dict[str, Any], watched: list[Path]) -> Result:
    """Check mode changes nothing, converge succeeds, a second converge changes nothing."""
    before = snapshot(*watched)
    checked = play(role, variables, "--check", "--diff")
    assert checked.failed == 0, explain(checked.proc)
    assert snapshot(*watched) == before, "check mode changed files"
    first = play(role, variables)
    assert first.failed == 0, explain(first.proc)
    assert first.changed > 0, explain(first.proc)
    second = play(role, variables)
    assert (second.failed, second.changed) == (0, 0), explain(second.proc)
    again = play(role, variables, "--check")
    assert (again.failed, again.changed) == (0, 0), explain(again.proc)
    return first


def snapshot(*paths: Path) -> dict[str, str]:
    """Every file (and symlink) under paths, with a content hash: what 'nothing changed' means."""
    seen: dict[str, str] = {}
    for top in paths:
        for entry in [top, *top.rglob("*")] if top.exists() else []:
            if entry.is_symlink():
                seen[str(entry)] = "-> " + os.readlink(entry)
            elif entry.is_file():
                seen[str(entry)] = hashlib.sha256(entry.read_bytes()).hexdigest()
            elif entry.is_dir():
                seen[str(entry)] = "dir"
    return seen


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces")


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace with a veth pair (va 10.99.0.1/24, vb 10.99.1.1/24); always deleted."""
    need_root()
    name = f"ncroles-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for cmd in (
            ["link", "add", "va", "type", "veth", "peer", "name", "vb"],
            ["addr", "add", "10.99.0.1/24", "dev", "va"],
            ["addr", "add", "10.99.1.1/24", "dev", "vb"],
            ["link", "set", "va", "up"],
            ["link", "set", "vb", "up"],
        ):
            subprocess.run(["ip", "-n", name, *cmd], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def in_netns(name: str, *cmd: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", name, *cmd], check=True, capture_output=True, text=True
    ).stdout


def _load_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"netclaim_{name}", REPO / f"plugins/modules/{name}.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- sriov ---------------------------------------------------------------------------------------

# (PCI address, interface name or None, sriov_totalvfs or None = no SR-IOV)
FAKE_PFS = (
    ("0000:3b:00.0", "ens1f0", 8),
    ("0000:3b:00.1", "ens1f1", 4),
    ("0000:3c:00.0", None, None),
)


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    """A fake sysfs: PCI devices under devices/, linked from class/net and bus/pci/devices."""
    root = tmp_path / "sys"
    for address, netdev, total in FAKE_PFS:
        device = root / "devices" / "pci0000:3a" / address
        device.mkdir(parents=True)
        if total is not None:
            (device / "sriov_totalvfs").write_text(f"{total}\n")
            (device / "sriov_numvfs").write_text("0\n")
        (root / "bus/pci/devices").mkdir(parents=True, exist_ok=True)
        (root / "bus/pci/devices" / address).symlink_to(f"../../../devices/pci0000:3a/{address}")
        if netdev:
            (device / "net" / netdev).mkdir(parents=True)
            (root / "class/net" / netdev).mkdir(parents=True)
            (root / "class/net" / netdev / "device").symlink_to(
                f"../../../devices/pci0000:3a/{address}"
            )
    return root


def numvfs(sysfs: Path, address: str) -> int:
    return int((sysfs / "bus/pci/devices" / address / "sriov_numvfs").read_text())


def sriov_vars(sysfs: Path, devices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sriov_sysfs_root": str(sysfs),
        "sriov_udev_rules_file": str(sysfs.parent / "rules.d" / "70-netclaim-sriov.rules"),
        "sriov_devices": devices,
    }


def test_sriov_sets_counts_by_name_and_address(play: Play, sysfs: Path) -> None:
    (sysfs.parent / "rules.d").mkdir()
    variables = sriov_vars(
        sysfs, [{"pf": "ens1f0", "num_vfs": 4}, {"pf": "0000:3b:00.1", "num_vfs": 2}]
    )
    converge_twice(play, "sriov", variables, [sysfs.parent])
    assert numvfs(sysfs, "0000:3b:00.0") == 4
    assert numvfs(sysfs, "0000:3b:00.1") == 2
    rules = (sysfs.parent / "rules.d/70-netclaim-sriov.rules").read_text()
    assert 'KERNEL=="ens1f0", ATTR{device/sriov_numvfs}="4"' in rules
    assert 'SUBSYSTEM=="pci", KERNEL=="0000:3b:00.1", ATTR{sriov_numvfs}="2"' in rules

    variables["sriov_devices"][0]["num_vfs"] = 8
    changed = play("sriov", variables)
    assert (changed.failed, changed.changed) == (0, 2), explain(changed.proc)
    assert numvfs(sysfs, "0000:3b:00.0") == 8


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"pf": "ens9", "num_vfs": 2}, "PF 'ens9' not found"),
        (
            {"pf": "0000:3b:00.1", "num_vfs": 5},
            "allows at most 4 VFs (sriov_totalvfs) but num_vfs is 5: lower num_vfs to 4",
        ),
        ({"pf": "0000:3c:00.0", "num_vfs": 1}, "has no sriov_totalvfs: it does not support SR-IOV"),
    ],
    ids=["missing-pf", "too-many-vfs", "no-sriov"],
)
def test_sriov_bad_pf_changes_nothing(
    play: Play, sysfs: Path, bad: dict[str, Any], message: str
) -> None:
    (sysfs.parent / "rules.d").mkdir()
    before = snapshot(sysfs.parent)
    # The good PF comes first: it must not be written either, since all are checked first.
    result = play("sriov", sriov_vars(sysfs, [{"pf": "ens1f0", "num_vfs": 4}, bad]))
    assert result.failed == 1, explain(result.proc)
    assert "nothing was changed" in result.output
    assert message in result.output, explain(result.proc)
    assert snapshot(sysfs.parent) == before


@pytest.mark.parametrize(
    ("before", "after", "writes"),
    [(4, 8, [0, 8]), (0, 8, [8]), (4, 0, [0])],
    ids=["nonzero-to-nonzero", "from-zero", "to-zero"],
)
def test_sriov_writes_zero_before_a_new_nonzero_count(
    sysfs: Path, monkeypatch: pytest.MonkeyPatch, before: int, after: int, writes: list[int]
) -> None:
    # A plain file cannot show the intermediate 0 the kernel needs, so record the writes.
    module = _load_module("sriov_numvfs")
    recorded: list[int] = []
    monkeypatch.setattr(module, "_write_int", lambda _path, value: recorded.append(value))
    (plan,) = module.inspect(str(sysfs), [{"pf": "ens1f0", "num_vfs": after}])
    plan["num_vfs_before"] = before
    module.apply(plan)
    assert recorded == writes


@pytest.mark.netns
def test_sriov_vf_settings_build_the_ip_link_command(play: Play, sysfs: Path) -> None:
    """The whole play runs inside a netns that has a veth called ens1f0 as the PF's netdev.

    veth has no VFs, so the kernel refuses `ip link set ... vf`; what is checked is that the
    role read the PF with ip link and asked for exactly the settings given."""
    need_root()
    name = f"ncroles-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(
            ["ip", "-n", name, "link", "add", "ens1f0", "type", "veth", "peer", "name", "p0"],
            check=True,
        )
        variables = sriov_vars(
            sysfs,
            [
                {
                    "pf": "ens1f0",
                    "num_vfs": 2,
                    "vfs": [
                        {
                            "index": 1,
                            "mac": "02:00:00:00:01:01",
                            "vlan": 10,
                            "trust": True,
                            "spoofchk": False,
                        },
                    ],
                },
            ],
        )
        variables["sriov_udev_rules_file"] = ""
        result = play("sriov", variables, prefix=("ip", "netns", "exec", name))
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
    assert result.failed == 1, explain(result.proc)
    expected = [
        "ip",
        "link",
        "set",
        "dev",
        "ens1f0",
        "vf",
        "1",
        "mac",
        "02:00:00:00:01:01",
        "vlan",
        "10",
        "trust",
        "on",
        "spoofchk",
        "off",
    ]
    assert json.dumps(expected)[1:-1] in result.output.replace("\n", ""), explain(result.proc)


def test_sriov_vf_settings_on_a_real_pf() -> None:
    pytest.skip(
        "no SR-IOV capable NIC on this machine: "
        "`ip link set <pf> vf N` needs a PF driver with VF support"
    )


def test_sriov_pf_without_netdev_cannot_take_vf_settings(play: Play, sysfs: Path) -> None:
    # 0000:3c:00.0 has no net/ directory; give it SR-IOV so only the netdev is missing.
    device = sysfs / "bus/pci/devices/0000:3c:00.0"
    (device / "sriov_totalvfs").write_text("2\n")
    (device / "sriov_numvfs").write_text("0\n")
    variables = sriov_vars(
        sysfs, [{"pf": "0000:3c:00.0", "num_vfs": 1, "vfs": [{"index": 0, "trust": True}]}]
    )
    variables["sriov_udev_rules_file"] = ""
    result = play("sriov", variables)
    assert result.failed == 1
    assert "has no network interface, so its VFs cannot be configured" in result.output


# --- rdma ----------------------------------------------------------------------------------------


def loaded_here(*candidates: str) -> list[str]:
    """Modules this kernel already has (built in or loaded), which the role must leave alone."""
    return [m for m in candidates if Path("/sys/module", m).exists()]


def rdma_vars(tmp_path: Path, modules: list[str], mode: str = "shared") -> dict[str, Any]:
    return {
        "rdma_modules": modules,
        "rdma_netns_mode": mode,
        "rdma_modules_load_file": str(tmp_path / "etc/modules-load.d/netclaim-rdma.conf"),
        "rdma_ib_core_options_file": str(tmp_path / "etc/modprobe.d/ib_core.conf"),
    }


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    for sub in ("etc/modules-load.d", "etc/modprobe.d"):
        (tmp_path / sub).mkdir(parents=True)
    return tmp_path / "etc"


def test_rdma_present_modules_are_persisted(play: Play, tmp_path: Path, etc: Path) -> None:
    modules = loaded_here("bridge", "vxlan", "overlay")
    if not modules:
        pytest.skip("none of bridge, vxlan, overlay is in /sys/module on this kernel")
    converge_twice(play, "rdma", rdma_vars(tmp_path, modules), [etc])
    listed = (etc / "modules-load.d/netclaim-rdma.conf").read_text().split("\n")
    assert all(m in listed for m in modules)
    assert "options ib_core netns_mode=1" in (etc / "modprobe.d/ib_core.conf").read_text()

    exclusive = play("rdma", rdma_vars(tmp_path, modules, "exclusive"))
    assert (exclusive.failed, exclusive.changed) == (0, 1), explain(exclusive.proc)
    assert "options ib_core netns_mode=0" in (etc / "modprobe.d/ib_core.conf").read_text()
    assert "applies when it loads" in exclusive.output


def test_rdma_unknown_module_fails_naming_it(play: Play, tmp_path: Path, etc: Path) -> None:
    before = snapshot(etc)
    result = play("rdma", rdma_vars(tmp_path, [*loaded_here("bridge"), "netclaim_no_such_module"]))
    assert result.failed == 1, explain(result.proc)
    assert "cannot load RDMA kernel module(s) netclaim_no_such_module" in result.output
    assert "Nothing was changed" in result.output
    assert snapshot(etc) == before


def test_rdma_loads_a_missing_module() -> None:
    if not Path("/proc/modules").exists():
        pytest.skip("this kernel has no loadable-module support (/proc/modules is absent)")
    if shutil.which("modprobe") is None:
        pytest.skip("modprobe (kmod) is not installed on this machine")
    pytest.skip("no unloaded, harmless module is known to exist on this kernel")


def test_rdma_sets_netns_mode_at_runtime() -> None:
    if not Path("/sys/module/ib_core").exists():
        pytest.skip(
            "no RDMA subsystem on this kernel (/sys/module/ib_core absent), "
            "so `rdma system set netns` cannot run"
        )


# --- mptcp ---------------------------------------------------------------------------------------


def mptcp_vars(netns: str, tmp_path: Path, endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "mptcp_netns": netns,
        "mptcp_sysctl_dir": str(tmp_path / "sysctl.d"),
        "mptcp_sysctls": {"add_addr_timeout": 61, "checksum_enabled": 1},
        "mptcp_limits": {"subflows": 4, "add_addr_accepted": 3},
        "mptcp_endpoints": endpoints,
    }


def host_mptcp() -> str:
    return subprocess.run(
        ["sysctl", "net.mptcp"], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.netns
def test_mptcp_in_a_netns(play: Play, netns: str, tmp_path: Path) -> None:
    (tmp_path / "sysctl.d").mkdir()
    host_before = host_mptcp()
    endpoints = [
        {"address": "10.99.0.1", "dev": "va", "flags": ["signal"]},
        {"address": "10.99.1.1", "dev": "vb", "flags": ["subflow", "backup"]},
    ]
    variables = mptcp_vars(netns, tmp_path, endpoints)
    converge_twice(play, "mptcp", variables, [tmp_path / "sysctl.d"])

    assert in_netns(netns, "sysctl", "-n", "net.mptcp.add_addr_timeout").strip() == "61"
    assert in_netns(netns, "sysctl", "-n", "net.mptcp.checksum_enabled").strip() == "1"
    limits = in_netns(netns, "ip", "mptcp", "limits", "show")
    assert "subflows 4" in limits and "add_addr_accepted 3" in limits
    shown = in_netns(netns, "ip", "mptcp", "endpoint", "show")
    assert "10.99.0.1 id" in shown and "signal dev va" in shown
    assert "subflow backup dev vb" in shown
    persisted = (tmp_path / "sysctl.d/90-netclaim-mptcp.conf").read_text()
    assert "net.mptcp.enabled = 1\n" in persisted
    assert "net.mptcp.add_addr_timeout = 61\n" in persisted
    assert host_mptcp() == host_before, "the host's own MPTCP sysctls changed"

    # A changed flag re-creates that endpoint; purge drops the one no longer listed.
    variables["mptcp_endpoints"] = [{"address": "10.99.0.1", "dev": "va", "flags": ["subflow"]}]
    variables["mptcp_endpoints_purge"] = True
    result = play("mptcp", variables)
    assert (result.failed, result.changed) == (0, 2), explain(result.proc)
    shown = in_netns(netns, "ip", "mptcp", "endpoint", "show")
    assert "10.99.1.1" not in shown
    assert "subflow dev va" in shown and "signal" not in shown
    again = play("mptcp", variables)
    assert (again.failed, again.changed) == (0, 0), explain(again.proc)


@pytest.mark.netns
def test_mptcp_unknown_sysctl_fails(play: Play, netns: str, tmp_path: Path) -> None:
    (tmp_path / "sysctl.d").mkdir()
    before = in_netns(netns, "sysctl", "net.mptcp")
    variables = mptcp_vars(netns, tmp_path, [])
    variables["mptcp_sysctls"] = {"add_addr_timeout": 30, "no_such_knob": 1}
    result = play("mptcp", variables)
    assert result.failed == 1
    assert "the kernel has no net.mptcp.no_such_knob" in result.output
    assert in_netns(netns, "sysctl", "net.mptcp") == before
    assert not any((tmp_path / "sysctl.d").iterdir())


# --- container_runtime -------------------------------------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> dict[str, Any]:
    for binary in (CONTAINERD, RUNC):
        if not binary.exists():
            pytest.skip(f"{binary} is not built (make cluster-up builds it)")
    config = tmp_path / "containerd" / "config.toml"
    config.parent.mkdir()
    if LIVE_CONTAINERD_CONFIG.exists():
        shutil.copy(
            LIVE_CONTAINERD_CONFIG, config
        )  # a copy: the live cluster's file is never edited
    return {
        "container_runtime_containerd_bin": str(CONTAINERD),
        "container_runtime_runc_bin": str(RUNC),
        "container_runtime_config_path": str(config),
        "container_runtime_cdi_spec_dirs": [str(tmp_path / "cdi/etc"), str(tmp_path / "cdi/run")],
        "container_runtime_nri_socket_path": str(tmp_path / "nri/nri.sock"),
        "container_runtime_restart_command": ["touch", str(tmp_path / "restarted")],
    }


def dumped_config(config: str) -> str:
    """The config as containerd itself reads it."""
    return subprocess.run(
        [str(CONTAINERD), "--config", config, "config", "dump"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_container_runtime_turns_on_cdi_and_nri(
    play: Play, runtime: dict[str, Any], tmp_path: Path
) -> None:
    config = Path(runtime["container_runtime_config_path"])
    original = config.read_text() if config.exists() else ""
    converge_twice(play, "container_runtime", runtime, [tmp_path / "containerd", tmp_path / "cdi"])
    assert (tmp_path / "restarted").exists(), "the config changed but containerd was not restarted"
    assert (tmp_path / "cdi/etc").is_dir() and (tmp_path / "cdi/run").is_dir()
    dump = dumped_config(str(config))
    assert "enable_cdi = true" in dump
    assert f"cdi_spec_dirs = ['{tmp_path}/cdi/etc', '{tmp_path}/cdi/run']" in dump
    assert f"socket_path = '{tmp_path}/nri/nri.sock'" in dump
    # Lines the role was not asked about are kept as they were (comments included).
    kept = [
        line
        for line in original.splitlines()
        if "cdi_spec_dirs" not in line and "socket_path" not in line
    ]
    assert all(line in config.read_text().splitlines() for line in kept)

    (tmp_path / "restarted").unlink()
    play("container_runtime", runtime)
    assert not (tmp_path / "restarted").exists(), "restarted although nothing changed"


@pytest.mark.parametrize("component", ["containerd", "runc"])
def test_container_runtime_too_old_fails(
    play: Play, runtime: dict[str, Any], tmp_path: Path, component: str
) -> None:
    runtime[f"container_runtime_{component}_min_version"] = "9.9.9"
    found = "2.2.9" if component == "containerd" else "1.4.3"
    before = snapshot(tmp_path / "containerd")
    result = play("container_runtime", runtime)
    assert result.failed == 1
    assert f"is version {found}; netclaim requires 9.9.9 or later" in result.output, explain(
        result.proc
    )
    assert snapshot(tmp_path / "containerd") == before


def test_container_runtime_missing_binary_fails(
    play: Play, runtime: dict[str, Any], tmp_path: Path
) -> None:
    runtime["container_runtime_runc_bin"] = str(tmp_path / "bin/runc")
    result = play("container_runtime", runtime)
    assert result.failed == 1
    assert (
        f"runc at {tmp_path}/bin/runc is missing; netclaim requires 1.4.0 or later" in result.output
    )


def test_container_runtime_installs_from_files(
    play: Play, runtime: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "bin").mkdir()
    runtime.update(
        container_runtime_install_mode="file",
        container_runtime_containerd_bin=str(tmp_path / "bin/containerd"),
        container_runtime_runc_bin=str(tmp_path / "bin/runc"),
        container_runtime_containerd_src=str(CONTAINERD),
        container_runtime_runc_src=str(RUNC),
    )
    converge_twice(play, "container_runtime", runtime, [tmp_path / "bin"])
    assert (tmp_path / "bin/containerd").read_bytes() == CONTAINERD.read_bytes()
    assert os.access(tmp_path / "bin/runc", os.X_OK)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_container_runtime_installs_from_urls(
    play: Play, runtime: dict[str, Any], tmp_path: Path
) -> None:
    # A release-shaped archive (bin/containerd) and a bare runc binary, served as file:// URLs.
    archive = tmp_path / "release/containerd-2.2.9-linux-amd64.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(CONTAINERD, arcname="bin/containerd")
    (tmp_path / "bin").mkdir()
    runtime.update(
        container_runtime_install_mode="url",
        container_runtime_download_dir=str(tmp_path / "downloads"),
        container_runtime_containerd_bin=str(tmp_path / "bin/containerd"),
        container_runtime_runc_bin=str(tmp_path / "bin/runc"),
        container_runtime_containerd_url=f"file://{archive}",
        container_runtime_containerd_checksum=f"sha256:{_sha256(archive)}",
        container_runtime_runc_url=f"file://{RUNC}",
        container_runtime_runc_checksum=f"sha256:{_sha256(RUNC)}",
    )
    converge_twice(play, "container_runtime", runtime, [tmp_path / "bin"])
    assert _sha256(tmp_path / "bin/containerd") == _sha256(CONTAINERD)
    assert _sha256(tmp_path / "bin/runc") == _sha256(RUNC)


def test_container_runtime_bad_checksum_fails(
    play: Play, runtime: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "bin").mkdir()
    runtime.update(
        container_runtime_install_mode="url",
        container_runtime_runc_bin=str(tmp_path / "bin/runc"),
        container_runtime_runc_url=f"file://{RUNC}",
        container_runtime_runc_checksum="sha256:" + "0" * 64,
    )
    result = play("container_runtime", runtime)
    assert result.failed == 1
    assert "did not match " + "0" * 64 in result.output, explain(result.proc)
    assert not (tmp_path / "bin/runc").exists()


NRI = "plugins.'io.containerd.nri.v1.nri'"


@pytest.mark.parametrize(
    ("text", "settings", "expected"),
    [
        (  # the same value spelled with other quotes is left alone
            'version = 3\n[plugins."io.containerd.nri.v1.nri"]\n  socket_path = "/run/nri.sock"\n',
            [{"table": NRI, "key": "socket_path", "value": "/run/nri.sock"}],
            'version = 3\n[plugins."io.containerd.nri.v1.nri"]\n  socket_path = "/run/nri.sock"\n',
        ),
        (  # a value over several lines is replaced whole; neighbours and comments stay
            "version = 3\n[a]\n  k = [\n    1,\n    2,\n  ]\n  z = 1 # keep\n[a.b]\n  q = 1\n",
            [{"table": "a", "key": "k", "value": [3]}, {"table": "a", "key": "n", "value": "v"}],
            "version = 3\n[a]\n  k = [3]\n  z = 1 # keep\n  n = 'v'\n[a.b]\n  q = 1\n",
        ),
        (  # a table known only through its sub-tables gets its own header at the end
            "version = 3\n[plugins.'io.containerd.nri.v1.nri'.x]\n  y = 1\n",
            [{"table": NRI, "key": "disable", "value": False}],
            "version = 3\n[plugins.'io.containerd.nri.v1.nri'.x]\n  y = 1\n\n"
            "[plugins.'io.containerd.nri.v1.nri']\n  disable = false\n",
        ),
        (  # an empty file becomes a version 3 config
            "",
            [{"table": NRI, "key": "disable", "value": False}],
            "version = 3\n\n[plugins.'io.containerd.nri.v1.nri']\n  disable = false\n",
        ),
    ],
    ids=["same-value-other-quotes", "multi-line-value", "implicit-table", "empty-file"],
)
def test_containerd_config_edits(text: str, settings: list[dict[str, Any]], expected: str) -> None:
    module = _load_module("containerd_config")
    assert module.edit(text, settings)[0] == expected
    assert module.edit(expected, settings)[1] == [], "a second edit must change nothing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 2\n", "config version 2, not 3: migrate it with `containerd config migrate`"),
        (
            'version = 3\n[plugins]\n"io.containerd.nri.v1.nri" = {disable = true}\n',
            "edit it by hand",
        ),
        ("version = 3\n[broken\n", "not valid TOML"),
    ],
    ids=["version-2", "inline-table", "not-toml"],
)
def test_containerd_config_refuses(text: str, message: str) -> None:
    module = _load_module("containerd_config")
    with pytest.raises(module.ConfigError, match=re.escape(message)):
        module.edit(text, [{"table": NRI, "key": "disable", "value": False}])


# --- lint ----------------------------------------------------------------------------------------


def test_host_roles_lint_production(collections_path: Path) -> None:
    proc = run(
        [
            "ansible-lint",
            "--offline",
            "--profile",
            "production",
            *(f"roles/{role}" for role in HOST_ROLES),
            "tests/ansible/roles",
        ],
        REPO,
        600,
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
    )
    assert proc.returncode == 0, explain(proc)
