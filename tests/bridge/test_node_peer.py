"""An independent peer: a Node.js client on @grpc/grpc-js (npm) calls health and Generate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bridge.conftest import Served

NODE_DIR = Path(__file__).resolve().parent / "node"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.skipif(not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(),
                    reason="node_modules missing: run `npm ci --prefix tests/bridge/node`")
def test_node_grpc_js_client_gets_health_and_stems(served: Served) -> None:
    out = subprocess.run(["node", str(NODE_DIR / "client.js"), f"127.0.0.1:{served.server.grpc_port}", "2"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:] + out.stdout[-2000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["health"] == "SERVING"
    assert summary["events"][0] == "accepted" and summary["events"][-1] == "done"
    assert summary["plan"] == {"start": 88200, "length": 176400}  # bar 2 at 120 BPM, 44.1 kHz; 2 bars
    assert sorted(summary["stems"]) == ["bass", "drums", "instrument", "melody"]
    for stem in summary["stems"].values():
        assert stem["gaps"] == 0 and stem["sha_ok"] and stem["first"] == 88200 and stem["frames"] == 176400
        assert stem["chunks"] == 44 and Path(stem["path"]).is_file()  # ceil(176400 / 4096)
