"""Fixtures for the plugin stub tests: the real server on random:tiny (one per test session), project files."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.protocol import ensure_generated

ensure_generated()


@pytest.fixture(scope="session")
def tiny_server() -> Iterator[str]:
    """``jen serve --model random:tiny`` in a subprocess on free ports; yields its gRPC address."""
    from tests.bridge.harness import ServerProcess

    with tempfile.TemporaryDirectory(prefix="jen-stub-tiny-") as data:
        server = ServerProcess(["serve", "--model", "random:tiny", "--grpc-port", "0", "--osc-port", "0",
                                "--data-dir", data, "--log-level", "warning"])
        try:
            yield f"127.0.0.1:{server.grpc_port}"
        finally:
            server.stop()


def write_project(folder: Path, **fields: Any) -> Path:
    """A project JSON in ``folder`` (defaults: 48 kHz, 24-bit, 120 BPM 4/4, bars 2-3, drums, 1 step)."""
    project = {"sample_rate": 48000, "bit_depth": 24, "tempo": 120, "region": {"start_bar": 2, "end_bar": 3},
               "stems": ["drums"], "steps": 1, "seed": 1, "prompt": "test"}
    if "tempo_map" in fields:
        del project["tempo"]
    project.update(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "project.json"
    path.write_text(json.dumps(project))
    return path
