"""Compile the bridge protos into ``bridge/v1/`` when the generated modules are missing or stale.

The generated files (``bridge/v1/bridge_pb2.py``, ``bridge_pb2_grpc.py``, ``bridge_pb2.pyi``) are build output:
git ignores them and nobody edits them. Compilation needs ``grpcio-tools`` (a dev/build dependency).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jen_core.errors import JenError

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "protos" / "jen"
PROTO_DIR = PROTO_ROOT / "bridge" / "v1"
OUT_DIR = REPO_ROOT / "bridge" / "v1"
GENERATED = ("bridge_pb2.py", "bridge_pb2_grpc.py", "bridge_pb2.pyi")


def stale(proto_dir: Path = PROTO_DIR, out_dir: Path = OUT_DIR) -> bool:
    """True when a generated module is missing or older than a .proto."""
    protos = sorted(proto_dir.glob("*.proto"))
    if not protos:  # installed without sources: use what was built
        return not (out_dir / GENERATED[0]).exists()
    newest_source = max(p.stat().st_mtime for p in protos)
    for name in GENERATED:
        out = out_dir / name
        if not out.exists() or out.stat().st_mtime < newest_source:
            return True
    return False


def ensure_generated(*, force: bool = False) -> None:
    """(Re)compile ``protos/jen/bridge/v1/*.proto`` into ``bridge/v1/`` if needed.

    Compiles into a temporary folder and moves each file into place with ``os.replace``, so a
    concurrent importer never sees a half-written module.
    """
    if not force and not stale():
        return
    protos = sorted(PROTO_DIR.glob("*.proto"))
    if not protos:
        raise JenError(f"no .proto files under {PROTO_DIR} and no generated code in {OUT_DIR}: reinstall the package")
    try:
        import grpc_tools  # noqa: F401
    except ImportError as exc:
        raise JenError("grpcio-tools is needed to compile the bridge protos: pip install grpcio-tools") from exc
    with tempfile.TemporaryDirectory(dir=OUT_DIR) as tmp:
        cmd = [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_ROOT}",
            f"--python_out={tmp}", f"--grpc_python_out={tmp}", f"--pyi_out={tmp}",
            *[str(p) for p in protos],
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise JenError(f"protoc failed: {result.stderr.strip() or result.stdout.strip()}")
        built = Path(tmp) / "bridge" / "v1"
        for path in sorted(built.iterdir()):
            os.replace(path, OUT_DIR / path.name)


def load() -> tuple[object, object]:
    """Return ``(bridge_pb2, bridge_pb2_grpc)``, compiling first when needed."""
    ensure_generated()
    from bridge.v1 import bridge_pb2, bridge_pb2_grpc

    return bridge_pb2, bridge_pb2_grpc
