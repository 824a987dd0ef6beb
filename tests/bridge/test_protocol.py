from __future__ import annotations

import os
from pathlib import Path

from bridge.protocol import GENERATED, OUT_DIR, ensure_generated, stale


def test_generated_modules_are_current_and_import_as_bridge_v1() -> None:
    ensure_generated()
    assert not stale()
    from bridge.v1 import bridge_pb2, bridge_pb2_grpc

    assert bridge_pb2.DESCRIPTOR.package == "jen.bridge.v1"
    assert set(bridge_pb2.DESCRIPTOR.services_by_name["Bridge"].methods_by_name) == {
        "GetCapabilities", "UploadContext", "Generate", "Cancel", "CreateSession", "GetSession", "ListTakes",
        "KeepTakes", "Regenerate", "Audition"}
    assert hasattr(bridge_pb2_grpc, "BridgeStub")
    assert all((OUT_DIR / name).exists() for name in GENERATED)


def test_staleness_follows_mtimes(tmp_path: Path) -> None:
    protos, out = tmp_path / "protos", tmp_path / "out"
    protos.mkdir()
    out.mkdir()
    (protos / "a.proto").write_text("syntax = 'proto3';")
    assert stale(protos, out)
    for name in GENERATED:
        (out / name).write_text("")
    assert not stale(protos, out)
    os.utime(protos / "a.proto", (2e9, 2e9))  # the source changed after the build
    assert stale(protos, out)
