"""Container images without a registry: docker-archive tarballs we write, imported with ctr.

The pause image is our own static C program; the test image is Debian's busybox-static with
a symlink per applet. Both are rebuilt only when their inputs change (content-addressed)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from testbed.layout import Layout, versions
from testbed.run import TestbedError, run

PAUSE_SOURCE = Path(__file__).resolve().parent.parent / "images" / "pause.c"
BUSYBOX = Path("/bin/busybox")


@dataclass(frozen=True)
class FileEntry:
    path: str
    data: bytes = b""
    mode: int = 0o755
    link: str | None = None


def _layer(entries: list[FileEntry]) -> bytes:
    """An uncompressed, reproducible layer tar (mtime 0, root-owned, parents first)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(Path(e.path).parent) for e in entries} - {"."})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for e in sorted(entries, key=lambda e: e.path):
            info = tarfile.TarInfo(e.path)
            info.mtime, info.mode = 0, e.mode
            if e.link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, e.link
                tar.addfile(info)
            else:
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
    return buf.getvalue()


def write_archive(
    path: Path,
    ref: str,
    entries: list[FileEntry],
    entrypoint: list[str],
    cmd: list[str] | None = None,
) -> None:
    """Write a docker-archive (docker.v1.2) tarball that `ctr images import` accepts."""
    layer = _layer(entries)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": entrypoint, "Cmd": cmd, "Env": ["PATH=/bin:/sbin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]
    ).encode()
    tmp = path.with_suffix(".partial")
    with tarfile.open(tmp, mode="w") as tar:
        for name, data in (
            (config_name, config),
            ("layer.tar", layer),
            ("manifest.json", manifest),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    tmp.rename(path)


def _pause_archive(layout: Layout) -> Path:
    source = PAUSE_SOURCE.read_bytes()
    out_dir = layout.cache / "images" / ("pause-" + hashlib.sha256(source).hexdigest()[:12])
    archive = out_dir / "pause.tar"
    if archive.exists():
        return archive
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / "pause"
    run(["gcc", "-Os", "-static", "-Wall", "-Werror", "-o", binary, PAUSE_SOURCE])
    run(["strip", binary])
    write_archive(
        archive, versions().pause_image, [FileEntry("pause", binary.read_bytes())], ["/pause"]
    )
    return archive


def _busybox_archive(layout: Layout) -> Path:
    if not BUSYBOX.exists():
        run(["apt-get", "install", "-y", "-qq", "busybox-static"])
    data = BUSYBOX.read_bytes()
    digest = hashlib.sha256(data + versions().test_image.encode()).hexdigest()[:12]
    out_dir = layout.cache / "images" / f"busybox-{digest}"
    archive = out_dir / "busybox.tar"
    if archive.exists():
        return archive
    out_dir.mkdir(parents=True, exist_ok=True)
    applets = run([BUSYBOX, "--list-full"]).stdout.split()
    if "sbin/ip" not in applets and "bin/ip" not in applets:
        raise TestbedError(f"{BUSYBOX} has no `ip` applet; the test image needs it")
    entries = [FileEntry("bin/busybox", data)]
    entries += [FileEntry(a, link="/bin/busybox") for a in applets if a != "bin/busybox"]
    entries += [
        FileEntry("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
        FileEntry("tmp/.keep", b"", 0o644),
    ]
    write_archive(archive, versions().test_image, entries, [], ["sh"])
    return archive


def import_images(layout: Layout, ctr: Path, socket: Path | None = None) -> None:
    """Import the pause and test images into containerd's k8s.io namespace (idempotent)."""
    address = str(socket or layout.containerd_socket)
    present = run([ctr, "--address", address, "-n", "k8s.io", "images", "ls", "-q"]).stdout.split()
    for ref, archive in (
        (versions().pause_image, _pause_archive(layout)),
        (versions().test_image, _busybox_archive(layout)),
    ):
        if ref in present:
            continue
        run(
            [
                ctr,
                "--address",
                address,
                "-n",
                "k8s.io",
                "images",
                "import",
                "--snapshotter",
                "overlayfs",
                archive,
            ]
        )


def ensure_tools() -> None:
    for tool in ("gcc", "strip"):
        if shutil.which(tool) is None:
            raise TestbedError(f"`{tool}` is missing: run hack/bootstrap.sh (it installs gcc)")
