"""The stub stays thin enough to port to C++: it imports only the generated protocol, grpc, numpy, soundfile/soxr,
the standard library and itself (no torch, no jen_core, no other bridge module)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "plugin_stub"
THIRD_PARTY = {"numpy", "soundfile", "soxr", "grpc"}
PROTOCOL = {"bridge.v1.bridge_pb2", "bridge.v1.bridge_pb2_grpc"}


def _imports(path: Path) -> list[str]:
    """Absolute module names a file imports (``from a import b`` gives ``a.b`` as well as ``a``)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("plugin_stub")  # relative: its own code
                continue
            assert node.module is not None
            names += [f"{node.module}.{alias.name}" if node.module == "bridge.v1" else node.module
                      for alias in node.names]
    return names


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    return (name in PROTOCOL or top in THIRD_PARTY or top == "plugin_stub" or top == "__future__"
            or top in sys.stdlib_module_names)


def test_every_import_in_plugin_stub_is_allowed() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 10
    bad = [f"{f.relative_to(REPO)}: {name}" for f in files for name in _imports(f) if not _allowed(name)]
    assert not bad, "plugin_stub may import only the generated protocol, grpc, numpy, soundfile/soxr: " + str(bad)


def test_the_scanner_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import torch\nfrom jen_core.errors import JenError\nfrom bridge import tempo\n"
                      "from bridge.v1 import bridge_pb2\nfrom bridge.tempo import TempoMap\nimport numpy as np\n")
    assert [n for n in _imports(sample) if not _allowed(n)] == ["torch", "jen_core.errors", "bridge",
                                                                 "bridge.tempo"]


def test_importing_the_whole_stub_loads_no_model_or_server_code() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    code = ("import sys\n" + "".join(f"import plugin_stub.{m}\n" for m in modules) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jen_core', 'transformers')"
            " or (m.startswith('bridge.') and m not in ('bridge.v1', 'bridge.v1.bridge_pb2', 'bridge.v1.bridge_pb2_grpc')))\n"
            "print(','.join(bad))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
