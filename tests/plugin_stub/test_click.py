"""A click track at the host tempo and a drum stem sent through the whole path agree on beats within 10 ms.

The bundled model does not exist yet, so the server runs a synthetic drum "model" that hits on every beat of
the tempo it is asked for (whole bars at the region's mean tempo, as the bridge asks any model). The server fits
it onto the host tempo map (which changes tempo inside the region), the stub receives, checks and places it;
its hits must line up with the stub's click rendered from its own transport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.client import BridgeClient
from plugin_stub.generate import run_generate
from plugin_stub.outputs import OutputFolder
from plugin_stub.project import load_project
from plugin_stub.timeline import beat_samples, click_track
from tests.bridge.harness import running_server
from tests.plugin_stub.conftest import write_project


class DrumPipeline:
    """Pipeline stand-in: a sharp noise hit every ``1 / hits_per_quarter`` quarter note at the asked tempo."""

    sample_rate = 48000
    stems = ("bass", "drums", "instrument", "melody")
    name = "synthetic-drums"
    max_seconds = 30.0

    def __init__(self, hits_per_quarter: int) -> None:
        self.hits_per_quarter = hits_per_quarter

    def generate(self, prompt: str, *, seconds: float, stems: Sequence[str] | None = None, bpm: float,
                 seed: int = 0, on_step: Callable | None = None, **options: object) -> dict[str, np.ndarray]:
        frames = int(round(seconds * self.sample_rate))
        period = 60.0 / bpm / self.hits_per_quarter * self.sample_rate
        hit_len = int(0.03 * self.sample_rate)
        t = np.arange(hit_len) / self.sample_rate
        hit = np.random.default_rng(seed).standard_normal(hit_len) * np.exp(-t / 0.004) * 0.5
        out = np.zeros(frames)
        for k in range(int(frames / period) + 1):
            at = int(round(k * period))
            n = min(hit_len, frames - at)
            if n > 0:
                out[at : at + n] += hit[:n]
        if on_step is not None:
            on_step(1, 1)
        audio = np.stack([out, out]).astype(np.float32)
        return {s: audio for s in (stems or self.stems)}


def onsets(audio: np.ndarray, rate: int) -> np.ndarray:
    """Sample positions where the level first rises above 30 % of the peak after 60 ms of quiet."""
    env = np.abs(audio).max(axis=0)
    above = np.flatnonzero(env > 0.3 * env.max())
    gap = int(0.06 * rate)
    return above[np.concatenate([[True], np.diff(above) > gap])]


@pytest.mark.parametrize(("rate", "meter", "tempo", "region", "hits"), [
    (48000, "4/4", [[0, 120], [10, 84]], {"start_bar": 2, "end_bar": 4}, 1),  # quarter hits; change at ppq 10
    (44100, "7/8", [[0, 132], ["21/2", 104]], {"start_bar": 3, "end_bar": 5}, 2),  # eighth hits; change at bar 4
])
def test_click_and_drum_stem_agree_on_beats(rate: int, meter: str, tempo: list, region: dict, hits: int,
                                             tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, sample_rate=rate, bit_depth=24, time_signature=meter,
                                         tempo_map=tempo, region=region, stems=["drums"], click=True))
    with running_server(tmp_path, DrumPipeline(hits)) as server:
        with BridgeClient(f"127.0.0.1:{server.grpc_port}", timeout=60) as client:
            (f,) = run_generate(project, client, OutputFolder(tmp_path / "out")).files
    start, end = project.region_samples
    every = F(1, hits)
    stem, _ = sf.read(str(tmp_path / "out" / f.file), dtype="float32", always_2d=True)
    drum_hits = onsets(stem.T, rate) + f.start_sample  # placed at its own start sample

    click = click_track(project.transport, start, end, every_ppq=every)
    click_hits = onsets(click, rate) + start
    beats = [s for s, _ in beat_samples(project.transport, start, end, every_ppq=every)]
    assert list(click_hits) == beats  # the click starts exactly on each beat's host sample
    assert len(beats) >= 8 and len(drum_hits) == len(beats)
    error_ms = np.abs(drum_hits - np.array(beats)) / rate * 1000
    assert error_ms.max() < 10.0, error_ms

    mix, _ = sf.read(str(tmp_path / "out" / "mixdown.wav"), dtype="float32", always_2d=True)
    written_click, _ = sf.read(str(tmp_path / "out" / "click.wav"), dtype="float32", always_2d=True)
    assert mix.shape == written_click.shape == stem.shape  # both span the region (no tracks)
    np.testing.assert_allclose(mix - written_click, stem, atol=1e-6)  # the mix is the stem plus the click
