"""Generate the agent's protobuf and gRPC stubs from the repository's proto/ tree.

Run by setup.py at build time (so `pip install`/`pip wheel` of agent/ always carries stubs
that match proto/), and by the test that checks the generated stubs are current. The proto
tree is mapped onto the `netclaim_agent._proto` package, so generated imports resolve."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE_PREFIX = "netclaim_agent/_proto"
HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent / "proto"
SOURCE_ROOT = HERE / "src"


def _include_dirs() -> list[str]:
    """protoc include paths for the well-known types and google/rpc/status.proto."""
    import grpc_tools  # noqa: PLC0415 - only needed at build time
    from google.rpc import status_pb2  # noqa: PLC0415

    googleapis_root = Path(status_pb2.__file__).resolve().parents[2]
    return [str(Path(grpc_tools.__file__).parent / "_proto"), str(googleapis_root)]


def generate(proto_root: Path = PROTO_ROOT, out_root: Path = SOURCE_ROOT) -> list[Path]:
    """Compile every .proto under `proto_root` into `out_root/netclaim_agent/_proto`."""
    from grpc_tools import protoc  # noqa: PLC0415

    protos = sorted(proto_root.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {proto_root}")
    plugins = []
    for name in ("protoc-gen-mypy", "protoc-gen-mypy_grpc"):
        # Installed beside the interpreter (mypy-protobuf), which need not be on PATH.
        found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
        if found is None:
            raise SystemExit(f"{name} not found: install mypy-protobuf")
        plugins.append(f"--plugin={name}={found}")
    package_dir = out_root / PACKAGE_PREFIX
    package_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PACKAGE_PREFIX}={proto_root}",
        *[f"-I{d}" for d in _include_dirs()],
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *plugins,
        *[f"{PACKAGE_PREFIX}/{p.relative_to(proto_root)}" for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed: {' '.join(args)}")
    # Namespace-free packages: every generated directory gets an __init__.py.
    for directory in [package_dir, *(p for p in package_dir.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return sorted(p for p in package_dir.rglob("*") if p.is_file())


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE_ROOT
    for path in generate(out_root=out):
        print(path)
