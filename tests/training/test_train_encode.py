"""`jen data encode`: chunked encoding matches one-shot encoding; the CLI writes a latents folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from jen_cli.main import main
from jen_core.checkpoint import save_checkpoint
from jen_core.model import build_model
from jen_core.presets import get_preset
from tests.training.trainer_fixtures import write_dataset
from training.encode import autoencoder_fingerprint, encode_chunked
from training.latent_data import LatentDataset, read_index


@pytest.fixture(scope="module")
def model():
    return build_model(get_preset("tiny"), seed=4)


def test_chunked_encoding_matches_one_call(model) -> None:
    ae = model.autoencoder
    wav = torch.randn(2, 2, 40 * ae.hop + 77, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = ae.encode(wav)
        chunked = encode_chunked(ae, wav, chunk_frames=7)
    assert chunked.shape == full.shape == (2, 8, 41)
    assert torch.allclose(chunked, full, atol=1e-5, rtol=1e-4)


def test_encode_cli_writes_latents_a_trainer_can_read(tmp_path: Path, model, capsys) -> None:
    data = write_dataset(tmp_path / "d", songs=2)
    ckpt = save_checkpoint(model, tmp_path / "ckpt")
    code = main(["data", "encode", "--model", str(ckpt), "--data", str(data), "--out", str(tmp_path / "lat"),
                 "--device", "cpu"])
    assert code == 0 and "latents:" in capsys.readouterr().out
    index = read_index(tmp_path / "lat")
    assert index["autoencoder"] == autoencoder_fingerprint(model.autoencoder)
    assert [s["name"] for s in index["songs"]] == ["song_0", "song_1"]
    ds = LatentDataset(tmp_path / "lat", frames=64, seed=0)  # longer than a song: padded with silence
    item = ds[1]
    assert item["latents"].shape == (5, 8, 64) and item["caption"] == "a calm song number 1 with bass"
    assert torch.allclose(item["latents"][0, :, -1], torch.tensor(index["silence"]))
    info = json.loads((tmp_path / "lat" / "songs" / "song_0.json").read_text())
    assert info["meta"]["bpm"] == 120
