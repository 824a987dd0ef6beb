"""The FluidSynth renderer (skipped where the Debian packages are missing) and its install hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from jen_core.errors import JenError
from training.data.render_fluidsynth import DEFAULT_SOUNDFONT, check_fluidsynth, render_fluidsynth
from training.data.symbolic import STEMS
from training.data.synth import SynthConfig, plan_song, render_plan, synthesize

HAVE_FLUIDSYNTH = shutil.which("fluidsynth") is not None and Path(DEFAULT_SOUNDFONT).is_file()
needs_fluidsynth = pytest.mark.skipif(
    not HAVE_FLUIDSYNTH,
    reason="FluidSynth renderer not tested: apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm",
)


def test_missing_soundfont_is_one_line_error_naming_the_packages(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sf2"
    with pytest.raises(JenError) as info:
        check_fluidsynth(missing)
    message = str(info.value)
    assert "\n" not in message
    assert "fluidsynth" in message and "fluid-soundfont-gm" in message and "apt-get install" in message
    cfg = SynthConfig(minutes=0.05, renderer="fluidsynth", soundfont=str(missing))
    with pytest.raises(JenError, match="fluid-soundfont-gm"):
        synthesize(tmp_path / "out", cfg)
    assert not (tmp_path / "out").exists()  # refused before writing anything
    with pytest.raises(JenError, match="fluid-soundfont-gm"):
        render_fluidsynth(plan_song(cfg, 0).song, soundfont=missing)


def test_missing_program_is_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(
        JenError, match=r"needs the fluidsynth program: apt-get install .*fluidsynth fluid-soundfont-gm"
    ):
        check_fluidsynth(DEFAULT_SOUNDFONT)


@needs_fluidsynth
def test_fluidsynth_renders_aligned_nonsilent_stems_deterministically() -> None:
    cfg = SynthConfig(minutes=0.05, seed=4, renderer="fluidsynth", clip_seconds=(3.0, 4.0), chorale_fraction=0.0)
    plan = plan_song(cfg, 0)
    audio = render_plan(plan, cfg)
    assert audio.shape == (5, 2, round(plan.song.duration * 48000)) and audio.dtype == np.float32
    for i, stem in enumerate(STEMS):
        assert np.sqrt(np.mean(audio[i] ** 2)) > 1e-3, stem
    np.testing.assert_allclose(audio[4], audio[:4].sum(0), atol=1e-6)
    assert np.abs(audio).max() <= 0.9
    np.testing.assert_array_equal(audio, render_plan(plan, cfg))
