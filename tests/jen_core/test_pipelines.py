"""Pipelines on the random tiny model: lengths, determinism, known audio preserved, cancel, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jen_core.errors import CancelledError, JenError
from jen_core.pipelines import Role, TrackLayout, mix_stems

SR = 48000
FAST = {"steps": 4, "sampler": "ddim"}


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((2, int(seconds * SR)))).astype(np.float32)


def test_generate_all_stems_exact_length(tiny_pipeline) -> None:
    out = tiny_pipeline.generate("funky bass and drums", seconds=1.5, bpm=110, key="E minor", **FAST)
    assert list(out) == ["bass", "drums", "instrument", "melody"]
    for audio in out.values():
        assert audio.dtype == np.float32 and audio.shape == (2, 72000) and np.isfinite(audio).all()


def test_generate_is_seeded(tiny_pipeline) -> None:
    a = tiny_pipeline.generate("x", seconds=0.5, stems=["bass"], seed=1, **FAST)["bass"]
    b = tiny_pipeline.generate("x", seconds=0.5, stems=["bass"], seed=1, **FAST)["bass"]
    c = tiny_pipeline.generate("x", seconds=0.5, stems=["bass"], seed=2, **FAST)["bass"]
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_generate_mix_uses_jen1(tiny_pipeline) -> None:
    out = tiny_pipeline.generate("ambient pad", seconds=0.7, stems=["mix"], **FAST)
    assert list(out) == ["mix"] and out["mix"].shape == (2, 33600)


def test_prompt_and_meta_change_the_result(tiny_pipeline) -> None:
    base = tiny_pipeline.generate("rock", seconds=0.5, stems=["drums"], **FAST)["drums"]
    other = tiny_pipeline.generate("jazz waltz", seconds=0.5, stems=["drums"], **FAST)["drums"]
    tempo = tiny_pipeline.generate("rock", seconds=0.5, stems=["drums"], bpm=150, **FAST)["drums"]
    assert not np.allclose(base, other) and not np.allclose(base, tempo)


def test_inpaint_keeps_audio_outside_region(tiny_pipeline) -> None:
    audio = _audio(1.0)
    out = tiny_pipeline.inpaint(audio, start=0.3, end=0.6, prompt="piano", **FAST)
    seam = int(0.01 * SR)
    a, b = int(0.3 * SR), int(0.6 * SR)
    assert out.shape == audio.shape
    assert np.array_equal(out[:, : a - seam], audio[:, : a - seam])
    assert np.array_equal(out[:, b + seam :], audio[:, b + seam :])
    assert not np.allclose(out[:, a:b], audio[:, a:b])


def test_continue_extends_and_preserves_the_start(tiny_pipeline) -> None:
    audio = _audio(0.5)
    out = tiny_pipeline.continue_(audio, seconds=0.5, **FAST)
    assert out.shape == (2, 48000)
    seam = int(0.01 * SR)
    assert np.array_equal(out[:, : 24000 - seam], audio[:, : 24000 - seam])
    assert np.abs(out[:, 24000:]).max() > 0


def test_compose_with_kept_stems(tiny_pipeline) -> None:
    drums = _audio(0.5, seed=3)
    out = tiny_pipeline.compose("add a bass line", keep={"drums": drums}, generate=["bass", "melody"], **FAST)
    assert list(out) == ["bass", "melody"] and out["bass"].shape == drums.shape
    other = tiny_pipeline.compose("add a bass line", keep={"drums": _audio(0.5, seed=4)}, generate=["bass", "melody"], **FAST)
    assert not np.allclose(out["bass"], other["bass"]), "kept stems must condition the result"


def test_compose_region_regenerates_only_the_range(tiny_pipeline) -> None:
    drums, bass = _audio(1.0, seed=5), _audio(1.0, seed=6)
    out = tiny_pipeline.compose("", keep={"drums": drums}, generate=["bass"], region=(0.25, 0.5), context={"bass": bass}, **FAST)
    seam = int(0.01 * SR)
    assert np.array_equal(out["bass"][:, : 12000 - seam], bass[:, : 12000 - seam])
    assert np.array_equal(out["bass"][:, 24000 + seam :], bass[:, 24000 + seam :])


def test_progress_and_cancel(tiny_pipeline) -> None:
    seen: list[tuple[int, int]] = []
    tiny_pipeline.generate("x", seconds=0.3, stems=["bass"], on_step=lambda d, t: seen.append((d, t)), **FAST)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    calls: list[int] = []
    with pytest.raises(CancelledError):
        tiny_pipeline.generate(
            "x", seconds=0.3, stems=["bass"], on_step=lambda d, t: calls.append(d), cancel=lambda: len(calls) >= 2, **FAST
        )
    assert calls == [1, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0}, "positive"),
        ({"seconds": -1}, "positive"),
        ({"seconds": 31}, "maximum"),
        ({"seconds": 1, "stems": ["cowbell"]}, "unknown stem"),
        ({"seconds": 1, "bpm": 5}, "bpm"),
        ({"seconds": 1, "key": "H dorian"}, "key"),
        ({"seconds": 1, "steps": 0}, "steps"),
        ({"seconds": 1, "sampler": "euler"}, "sampler"),
    ],
)
def test_generate_errors(tiny_pipeline, kwargs, message) -> None:
    with pytest.raises(JenError, match=message):
        tiny_pipeline.generate("x", **kwargs)


def test_task_errors(tiny_pipeline) -> None:
    audio = _audio(0.5)
    with pytest.raises(JenError, match="region"):
        tiny_pipeline.inpaint(audio, start=0.4, end=0.9)
    with pytest.raises(JenError, match=r"\[2, samples\]"):
        tiny_pipeline.inpaint(audio[:1], start=0.1, end=0.2)
    with pytest.raises(JenError, match="both kept and generated"):
        tiny_pipeline.compose("", keep={"bass": audio}, generate=["bass"])
    with pytest.raises(JenError, match="same length"):
        tiny_pipeline.compose("", keep={"bass": audio, "drums": _audio(0.4)}, generate=["melody"])
    with pytest.raises(JenError, match="context"):
        tiny_pipeline.compose("", keep={"bass": audio}, generate=["melody"], region=(0.1, 0.2))


def test_track_layout_timestep_vector() -> None:
    k, s = 3, 8
    layout = TrackLayout(
        roles=[Role.TARGET, Role.KEPT, Role.ABSENT],
        clean=torch.full((1, 3, k, s), 2.0),
        mask=torch.ones(1, 3, s),
        absent_noise=torch.full((1, 3, k, s), 7.0),
    )
    x, t = layout.unet_input(torch.full((1, 1, k, s), 5.0), torch.tensor([321]), timesteps=1000)
    assert t.tolist() == [[321.0, 0.0, 1000.0]]
    per_track = x.reshape(1, 3, 2 * k + 1, s)
    assert per_track[0, 0, :k].eq(5).all() and per_track[0, 0, k:2 * k].eq(0).all()  # masked: no context
    assert per_track[0, 1, :k].eq(2).all() and per_track[0, 1, 2 * k].eq(0).all()  # kept: clean, mask 0
    assert per_track[0, 2, :k].eq(7).all() and per_track[0, 2, 2 * k].eq(1).all()  # absent: noise


def test_mix_stems_never_clips() -> None:
    loud = {"a": np.ones((2, 10), np.float32), "b": np.ones((2, 10), np.float32)}
    assert np.abs(mix_stems(loud)).max() <= 0.99
    quiet = {"a": np.full((2, 10), 0.1, np.float32), "b": np.full((2, 10), 0.2, np.float32)}
    assert np.allclose(mix_stems(quiet), 0.3)
