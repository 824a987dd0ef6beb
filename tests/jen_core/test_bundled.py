"""The bundled model in jen_core/pretrained/small: its files, its config, its checksums and a 1-s generation.

Skipped (with the reason) only in a tree that has no bundled model; the product ships one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from jen_core.files import sha256_file
from jen_core.pipelines import load_pipeline
from jen_core.pipelines.loader import bundled_path
from jen_core.presets import ModelConfig, get_preset

FOLDER = bundled_path("small")
MAX_BYTES = 40 * 1000 * 1000

pytestmark = pytest.mark.skipif(
    not (FOLDER / "config.json").exists(), reason=f"no bundled model in {FOLDER} (train one: jen train recipe small)"
)


@pytest.fixture(scope="module")
def config() -> dict:
    return json.loads((FOLDER / "config.json").read_text())


def test_files_fit_the_budget_and_match_their_checksums(config: dict) -> None:
    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    assert total <= MAX_BYTES, f"bundled model is {total / 1e6:.1f} MB, over 40 MB"
    assert config["storage_dtype"] in ("float16", "bfloat16")
    assert config["files"], "config.json lists no weight files"
    for name, digest in config["files"].items():
        assert sha256_file(FOLDER / name) == digest, name
    assert (FOLDER / "MODEL_CARD.md").is_file()


def test_config_is_the_small_preset(config: dict) -> None:
    assert ModelConfig.from_dict(config["config"]) == get_preset("small")
    assert config["extra"]["recipe"]["stages"], "the model's recipe facts are missing"


def test_one_second_generation_is_four_finite_audible_stems() -> None:
    pipe = load_pipeline("small", device="cpu")
    stems = pipe.generate("funky bass and drums at 110 BPM in E minor", seconds=1.0, steps=4, seed=3)
    assert set(stems) >= {"bass", "drums", "instrument", "melody"}
    for name, audio in stems.items():
        assert audio.shape == (2, 48000), name
        assert np.isfinite(audio).all(), name
        assert 1e-4 < float(np.sqrt(np.mean(audio**2))) < 1.0, name
    again = pipe.generate("funky bass and drums at 110 BPM in E minor", seconds=1.0, steps=4, seed=3)
    assert all(np.array_equal(stems[k], again[k]) for k in stems)
