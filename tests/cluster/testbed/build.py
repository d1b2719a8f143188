"""Build the node's components from Go modules into the cache, each keyed by its version.

A component is rebuilt only when its `<cache>/<component>-v<version>/bin` is missing, so a
changed pin in versions.toml triggers exactly one rebuild. Builds go to a temporary directory
that is renamed into place when complete, so an interrupted build never looks finished.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from testbed.layout import Layout, versions
from testbed.run import TestbedError, run

log = logging.getLogger("testbed")

KUBE_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kubectl",
)
CONTAINERD_COMMANDS = ("containerd", "ctr", "containerd-shim-runc-v2")
CNI_PLUGINS = ("main/bridge", "main/loopback", "ipam/host-local")


@cache
def _go_binary() -> tuple[str, str]:
    """The go command to use and the GOTOOLCHAIN value that goes with it.

    A local Go >= 1.26 builds everything. Otherwise Debian's Go is installed and told to fetch
    the pinned toolchain from the module proxy (the toolchain is itself a Go module)."""
    go = shutil.which("go")
    if go is None:
        run(["apt-get", "install", "-y", "-qq", "golang-go"])
        go = shutil.which("go") or "/usr/bin/go"
    out = run([go, "env", "GOVERSION"]).stdout.strip()
    match = re.match(r"go1\.(\d+)", out)
    if match and int(match.group(1)) >= 26:
        return go, "local"
    return go, versions().go_toolchain


def go_env(layout: Layout, *, cgo: bool = False) -> dict[str, str]:
    _, toolchain = _go_binary()
    return {
        "GOTOOLCHAIN": toolchain,
        "GOFLAGS": "-mod=mod",
        "GOMODCACHE": str(layout.gocache / "mod"),
        "GOCACHE": str(layout.gocache / "build"),
        "GOPATH": str(layout.gocache / "path"),
        "CGO_ENABLED": "1" if cgo else "0",
        "GOPROXY": os.environ.get("GOPROXY", "https://proxy.golang.org,direct"),
    }


def _go(
    layout: Layout,
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    cgo: bool = False,
    extra_env: dict[str, str] | None = None,
) -> str:
    go, _ = _go_binary()
    env = {**go_env(layout, cgo=cgo), **(extra_env or {})}
    return run([go, *args], env=env, cwd=cwd).stdout


def _scratch_module(layout: Layout, name: str, godebug: str = "") -> Path:
    work = layout.cache / "src" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "go.mod").write_text(f"module local/{name.replace('.', '_')}\n\ngo 1.26\n\n{godebug}\n")
    return work


def _kubernetes(layout: Layout, out: Path) -> None:
    k = versions().kubernetes
    minor = k.split(".")[1]
    mod_info = json.loads(_go(layout, ["mod", "download", "-json", f"k8s.io/kubernetes@v{k}"]))
    upstream_mod = Path(mod_info["GoMod"]).read_text()
    godebug = "\n".join(line for line in upstream_mod.splitlines() if line.startswith("godebug"))
    work = _scratch_module(layout, f"kubernetes-v{k}", godebug)
    # Upstream's go.mod maps every staging module to ./staging; the module zip lacks them, so
    # point each at its published v0.<minor>.<patch> release instead (the same source).
    staging = re.findall(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", upstream_mod, re.MULTILINE)
    if not staging:
        raise TestbedError(f"found no staging replace lines in k8s.io/kubernetes@v{k}'s go.mod")
    staging_version = "v0." + k.split(".", 1)[1]
    replaces = [f"-replace={m}={m}@{staging_version}" for m in staging]
    _go(layout, ["mod", "edit", *replaces], cwd=work)
    _go(layout, ["get", *[f"k8s.io/kubernetes/cmd/{c}@v{k}" for c in KUBE_COMMANDS]], cwd=work)
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        ldflags += [
            f"-X {pkg}.gitVersion=v{k}",
            f"-X {pkg}.gitMajor=1",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    _go(
        layout,
        [
            "build",
            "-trimpath",
            "-ldflags",
            " ".join(ldflags),
            "-o",
            f"{out}/",
            *[f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS],
        ],
        cwd=work,
    )


def _etcd(layout: Layout, out: Path) -> None:
    v = versions().etcd
    work = _scratch_module(layout, f"etcd-v{v}")
    # server/v3's go.mod replaces its siblings with ../ paths, so `go install` refuses it;
    # a scratch module that requires it builds the same code.
    _go(layout, ["get", f"go.etcd.io/etcd/server/v3@v{v}"], cwd=work)
    _go(
        layout,
        [
            "build",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(out / "etcd"),
            "go.etcd.io/etcd/server/v3",
        ],
        cwd=work,
    )


def _containerd(layout: Layout, out: Path) -> None:
    v = versions().containerd
    mod = "github.com/containerd/containerd/v2"
    _go(
        layout,
        [
            "install",
            "-tags",
            "no_btrfs urfave_cli_no_docs",
            "-ldflags",
            f"-s -w -X {mod}/version.Version=v{v}",
            *[f"{mod}/cmd/{c}@v{v}" for c in CONTAINERD_COMMANDS],
        ],
        extra_env={"GOBIN": str(out)},
    )


def _runc(layout: Layout, out: Path) -> None:
    v = versions().runc
    # runc's nsenter is C, and seccomp needs libseccomp (hack/bootstrap.sh installs it).
    _go(
        layout,
        [
            "install",
            "-tags",
            "seccomp urfave_cli_no_docs",
            "-ldflags",
            "-s -w",
            f"github.com/opencontainers/runc@v{v}",
        ],
        cgo=True,
        extra_env={"GOBIN": str(out)},
    )


def _cni_plugins(layout: Layout, out: Path) -> None:
    v = versions().cni_plugins
    mod = "github.com/containernetworking/plugins/plugins"
    _go(
        layout,
        ["install", "-ldflags", "-s -w", *[f"{mod}/{p}@v{v}" for p in CNI_PLUGINS]],
        extra_env={"GOBIN": str(out)},
    )


COMPONENTS: dict[str, tuple[Callable[[], str], Callable[[Layout, Path], None], tuple[str, ...]]] = {
    "kubernetes": (lambda: versions().kubernetes, _kubernetes, KUBE_COMMANDS),
    "etcd": (lambda: versions().etcd, _etcd, ("etcd",)),
    "containerd": (lambda: versions().containerd, _containerd, CONTAINERD_COMMANDS),
    "runc": (lambda: versions().runc, _runc, ("runc",)),
    "cni-plugins": (
        lambda: versions().cni_plugins,
        _cni_plugins,
        ("bridge", "loopback", "host-local"),
    ),
}


def binary_dir(layout: Layout, component: str) -> Path:
    version, _, _ = COMPONENTS[component]
    return layout.component_dir(component, version()) / "bin"


def ensure_built(layout: Layout, component: str) -> Path:
    """Build `component` unless its pinned version is already in the cache; return its bin dir."""
    version, build, binaries = COMPONENTS[component]
    final = binary_dir(layout, component)
    if all((final / b).is_file() for b in binaries):
        return final
    tmp = final.with_name("bin.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log.info("building %s v%s (cache: %s)", component, version(), layout.cache)
    started = time.monotonic()
    build(layout, tmp)
    missing = [b for b in binaries if not (tmp / b).is_file()]
    if missing:
        raise TestbedError(f"building {component} v{version()} produced no {', '.join(missing)}")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    log.info("built %s v%s in %.0f s", component, version(), time.monotonic() - started)
    return final


def ensure_all_built(layout: Layout) -> dict[str, Path]:
    return {name: ensure_built(layout, name) for name in COMPONENTS}
