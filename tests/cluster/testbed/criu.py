"""CRIU for the floating-IP move test: a pinned release built from Debian's source into the cache.

Debian bookworm ships CRIU 3.17, which cannot checkpoint on kernels >= 6.13 (criu #2532); 4.1
can, once it stops failing on Linux 6.16's refusal of SO_PASSCRED/SO_PASSSEC for TCP sockets
(patches/criu-so-pass-opts.patch, ours). The build goes to a temporary directory renamed into
place when complete, as the other components'."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from testbed.layout import Layout
from testbed.run import TestbedError, run

log = logging.getLogger("testbed")

VERSION = "4.1.1"
SOURCE = f"http://deb.debian.org/debian/pool/main/c/criu/criu_{VERSION}.orig.tar.xz"
SHA256 = "f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe"
PATCH = Path(__file__).parent / "patches" / "criu-so-pass-opts.patch"
PACKAGES = (
    "build-essential",
    "pkg-config",
    "xz-utils",
    "libprotobuf-dev",
    "libprotobuf-c-dev",
    "protobuf-c-compiler",
    "protobuf-compiler",
    "python3-protobuf",
    "libnl-3-dev",
    "libnet1-dev",
    "libcap-dev",
    "libbsd-dev",
    "libgnutls28-dev",
    "libnftables-dev",
    "libaio-dev",
    "uuid-dev",
    "iptables",  # at run time: CRIU locks the connection with iptables rules while it works
)


def ensure_criu(layout: Layout) -> Path:
    """The path of a CRIU binary of the pinned version, built first if the cache has none."""
    binary = layout.component_dir("criu", VERSION) / "criu"
    if binary.exists():
        return binary
    missing = [p for p in PACKAGES if not _installed(p)]
    if missing:
        log.info("criu: installing %s", " ".join(missing))
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
        quiet = {"DEBIAN_FRONTEND": "noninteractive"}
        if run(install, env=quiet, check=False).returncode != 0:  # package lists stale
            run(["apt-get", "update", "-qq"])
            run(install, env=quiet)
    layout.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.cache, prefix=".criu-build-") as tmp:
        archive = Path(tmp) / "criu.tar.xz"
        log.info("criu: fetching %s", SOURCE)
        with urllib.request.urlopen(SOURCE, timeout=120) as response:
            archive.write_bytes(response.read())
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != SHA256:
            raise TestbedError(f"{SOURCE}: sha256 {digest}, expected {SHA256}")
        run(["tar", "-xJf", archive, "-C", tmp])
        source = Path(tmp) / f"criu-{VERSION}"
        run(["git", "apply", "-p1", PATCH], cwd=source)
        log.info("criu: building %s (about a minute)", VERSION)
        run(["make", f"-j{os.cpu_count() or 1}", "criu"], cwd=source)
        out = Path(tmp) / "out"
        out.mkdir()
        shutil.copy2(source / "criu" / "criu", out / "criu")
        out.rename(binary.parent)
    return binary


def _installed(package: str) -> bool:
    status = run(["dpkg-query", "-W", "-f=${Status}", package], check=False).stdout
    return "install ok installed" in status
