"""Loading refuses tampered exports and paths that leave the folder; bad exports fail with one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from export.manifest import MANIFEST, file_entry, verify_export, write_manifest
from export.onnx_export import check_opset, export_onnx
from export.onnx_proto import audit_onnx
from export.runtimes.onnx_rt import OnnxGraphRuntime
from jen_core.errors import JenError


@pytest.fixture
def copy(tiny_export: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_export, tmp_path / "export"))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def _one_line(exc: pytest.ExceptionInfo[JenError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and len(message) < 400
    return message


def _external_model(path: Path, location: str) -> None:
    """A valid one-node model whose weight lives in external data at ``location``."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], vals=[0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())  # keeps the location exactly as written, like a hostile file would


def test_untouched_export_verifies(tiny_export: Path) -> None:
    assert verify_export(tiny_export)["format"] == "jen-onnx-export"


def test_tampered_file_is_refused(copy: Path) -> None:
    path = copy / "decoder.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(JenError) as exc:
        OnnxGraphRuntime(copy)
    assert "decoder.onnx does not match its sha256" in _one_line(exc)


def test_tampered_manifest_listing_is_refused(copy: Path) -> None:
    manifest = _manifest(copy)
    manifest["files"]["../outside.onnx"] = {"sha256": "0" * 64, "bytes": 1}
    write_manifest(copy, manifest)
    with pytest.raises(JenError) as exc:
        verify_export(copy)
    assert "leaves the export folder" in _one_line(exc)


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../x.bin"])
def test_external_data_outside_the_folder_is_refused(copy: Path, location: str) -> None:
    """Even with a manifest rewritten to match (the sha256 alone cannot catch a consistent attacker)."""
    (copy.parent / "secret.bin").write_bytes(np.ones(4, np.float32).tobytes())
    _external_model(copy / "decoder.onnx", location)
    manifest = _manifest(copy)
    manifest["files"]["decoder.onnx"] = file_entry(copy, "decoder.onnx")
    write_manifest(copy, manifest)
    with pytest.raises(JenError) as exc:
        OnnxGraphRuntime(copy)
    assert "outside the export folder" in _one_line(exc)


def test_external_data_inside_the_folder_must_be_listed(copy: Path) -> None:
    _external_model(copy / "decoder.onnx", "decoder.onnx.data")
    (copy / "decoder.onnx.data").write_bytes(np.ones(4, np.float32).tobytes())
    manifest = _manifest(copy)
    manifest["files"]["decoder.onnx"] = file_entry(copy, "decoder.onnx")
    write_manifest(copy, manifest)
    with pytest.raises(JenError, match="not listed"):
        verify_export(copy)
    manifest["files"]["decoder.onnx.data"] = file_entry(copy, "decoder.onnx.data")
    write_manifest(copy, manifest)
    verify_export(copy)  # listed and inside: accepted


def test_audit_agrees_with_onnx(tmp_path: Path, tiny_export: Path) -> None:
    _external_model(tmp_path / "m.onnx", "weights.bin")
    audit = audit_onnx(tmp_path / "m.onnx")
    assert audit.external == [("w", "weights.bin")] and audit.opsets == {"ai.onnx": 17}
    real = audit_onnx(tiny_export / "unet_composer_bidirectional.onnx")
    assert real.external == [] and real.opsets["ai.onnx"] == 17
    (tmp_path / "bad.onnx").write_bytes(b"\xff\xff\xff")
    with pytest.raises(JenError, match="not a valid ONNX file"):
        audit_onnx(tmp_path / "bad.onnx")


def test_opset_onnxruntime_cannot_run_is_a_clear_error(copy: Path) -> None:
    model = onnx.load(str(copy / "encoder.onnx"))
    model.opset_import[0].version = 99
    (copy / "encoder.onnx").write_bytes(model.SerializeToString())
    manifest = _manifest(copy)
    manifest["files"]["encoder.onnx"] = file_entry(copy, "encoder.onnx")
    write_manifest(copy, manifest)
    with pytest.raises(JenError) as exc:
        OnnxGraphRuntime(copy)
    message = _one_line(exc)
    assert "cannot load encoder.onnx (opset 99): it runs ai.onnx opsets up to" in message and "--opset 17" in message


@pytest.mark.parametrize("opset", [9, 13, 21, 99])
def test_bad_opset_is_refused_before_any_work(opset: int, tmp_path: Path) -> None:
    with pytest.raises(JenError) as exc:
        check_opset(opset)
    assert "choose 14-20" in _one_line(exc)
    with pytest.raises(JenError):
        export_onnx("random:tiny", tmp_path / "out", opset=opset)
    assert not (tmp_path / "out").exists()


def test_missing_checkpoint_and_bad_folders(tmp_path: Path) -> None:
    with pytest.raises(JenError) as exc:
        export_onnx(str(tmp_path / "nope"), tmp_path / "out")
    assert "nor an existing path" in _one_line(exc)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(JenError, match="not empty"):
        export_onnx("random:tiny", tmp_path / "busy")
    with pytest.raises(JenError, match="has no manifest.json"):
        verify_export(tmp_path / "busy")
    with pytest.raises(JenError, match="does not exist"):
        verify_export(tmp_path / "missing")


def test_missing_file_and_wrong_format(copy: Path) -> None:
    (copy / "text_encoder.onnx").unlink()
    with pytest.raises(JenError, match="text_encoder.onnx is missing"):
        verify_export(copy)
    manifest = _manifest(copy)
    manifest["format_version"] = 99
    write_manifest(copy, manifest)
    with pytest.raises(JenError, match="format version 99"):
        verify_export(copy)
