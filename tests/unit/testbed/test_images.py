"""Image archives are in the docker-archive layout that `ctr images import` reads."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from testbed.images import FileEntry, write_archive


def test_archive_layout_and_digests(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    write_archive(
        archive,
        "example.org/x:1",
        [FileEntry("bin/tool", b"\x7fELF"), FileEntry("bin/sh", link="/bin/tool")],
        ["/bin/tool"],
    )
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        [entry] = manifest
        assert entry["RepoTags"] == ["example.org/x:1"]
        config_bytes = tar.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
        layer_bytes = tar.extractfile(entry["Layers"][0]).read()  # type: ignore[union-attr]
    assert entry["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json"
    config = json.loads(config_bytes)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    with tarfile.open(fileobj=io.BytesIO(layer_bytes)) as layer:
        members = {m.name: m for m in layer.getmembers()}
    assert members["bin"].isdir()
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/bin/tool"
    assert all(m.mtime == 0 for m in members.values())


def test_archive_is_reproducible(tmp_path: Path) -> None:
    entries = [FileEntry("pause", b"binary")]
    write_archive(tmp_path / "a.tar", "r/p:1", entries, ["/pause"])
    write_archive(tmp_path / "b.tar", "r/p:1", entries, ["/pause"])
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
