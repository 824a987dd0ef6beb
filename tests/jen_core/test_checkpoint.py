"""Checkpoint folders: exact round trip, safety (no unpickling, checksums), committed fixture."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from jen_core.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint, sha256_file
from jen_core.errors import CheckpointError, JenError
from jen_core.model import build_model
from jen_core.pipelines import JenPipeline, load_pipeline
from jen_core.presets import ModelConfig, get_preset
from tests.jen_core.micro import micro_config

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "micro_checkpoint"
# Golden numbers of the committed fixture: generate("golden", 0.5 s, bass, ddim 3 steps, seed 0).
GOLDEN_SUM_ABS = 25914.7109
GOLDEN_FIRST = (-0.5540546, 0.4497498)


def _states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    model = build_model(micro_config(), seed=3)
    folder = save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "micro")
    return folder, model


def test_round_trip_is_exact(saved) -> None:
    folder, model = saved
    loaded = load_checkpoint(folder)
    assert loaded.cfg == model.cfg
    assert _states_equal(loaded, model)
    a = JenPipeline(model, name="a").generate("x", seconds=0.3, stems=["bass"], steps=2, sampler="ddim")
    b = JenPipeline(loaded, name="b").generate("x", seconds=0.3, stems=["bass"], steps=2, sampler="ddim")
    assert np.array_equal(a["bass"], b["bass"])


def test_config_json_records_format_and_checksums(saved) -> None:
    folder, _ = saved
    data = json.loads((folder / "config.json").read_text())
    assert data["format_version"] == FORMAT_VERSION
    assert ModelConfig.from_dict(data["config"]) == micro_config()
    for name, digest in data["files"].items():
        assert sha256_file(folder / name) == digest


def test_float16_storage_loads_as_float32(tmp_path, saved) -> None:
    _, model = saved
    folder = save_checkpoint(model, tmp_path / "half", dtype="float16")
    loaded = load_checkpoint(folder)
    p = next(loaded.jen1.parameters())
    assert p.dtype == torch.float32
    ref = next(model.jen1.parameters())
    assert torch.allclose(p, ref, atol=1e-3)


def _copy(saved, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(saved[0], dst)
    return dst


def test_pickle_payload_is_refused(tmp_path, saved) -> None:
    folder = _copy(saved, tmp_path)
    payload = pickle.dumps({"weight": [1.0, 2.0]})  # what torch.save would write, never read back here
    (folder / "jen1.safetensors").write_bytes(payload)
    data = json.loads((folder / "config.json").read_text())
    data["files"]["jen1.safetensors"] = sha256_file(folder / "jen1.safetensors")  # even with a matching checksum
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_checkpoint(folder)


def test_pickle_only_folder_is_refused(tmp_path) -> None:
    (tmp_path / "model.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        load_checkpoint(tmp_path)


def test_tampered_weights_are_refused(tmp_path, saved) -> None:
    folder = _copy(saved, tmp_path)
    blob = bytearray((folder / "composer.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (folder / "composer.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(folder)


def test_bad_configs_are_refused(tmp_path, saved) -> None:
    folder = _copy(saved, tmp_path)
    data = json.loads((folder / "config.json").read_text())
    data["config"]["autoencoder"]["hopsize"] = 3
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(JenError, match="unknown key.*hopsize"):
        load_checkpoint(folder)
    data["config"]["autoencoder"].pop("hopsize")
    data["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")


def test_random_models_are_seeded() -> None:
    a, b = build_model(get_preset("tiny"), seed=1), build_model(get_preset("tiny"), seed=1)
    c = build_model(get_preset("tiny"), seed=2)
    assert _states_equal(a, b) and not _states_equal(a, c)


def test_committed_fixture_loads_and_matches_golden() -> None:
    """A format or numerics change breaks this the day it happens (STYLE.md item 5)."""
    pipe = load_pipeline(str(FIXTURE))
    assert pipe.cfg == micro_config()
    bass = pipe.generate("golden", seconds=0.5, stems=["bass"], steps=3, sampler="ddim", seed=0)["bass"]
    assert bass.shape == (2, 24000)
    assert float(np.abs(bass).sum()) == pytest.approx(GOLDEN_SUM_ABS, rel=1e-4)
    assert tuple(float(v) for v in bass[:, 1000]) == pytest.approx(GOLDEN_FIRST, rel=1e-3, abs=1e-6)
