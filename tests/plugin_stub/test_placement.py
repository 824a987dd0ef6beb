"""Acceptance: against the real server on random:tiny, every stem lands at exactly the expected host sample.

For tempo maps with changes inside the region, odd meters and 44.1/48/96 kHz, the expected region is computed
here with the test's own Fraction arithmetic; each stem file's bext TimeReference, its length, and its place in
the timeline mixdown must agree with it to the sample.
"""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.client import BridgeClient
from plugin_stub.generate import run_generate
from plugin_stub.outputs import OutputFolder
from plugin_stub.project import load_project
from plugin_stub.wav import read_info
from tests.plugin_stub.conftest import write_project
from tests.plugin_stub.tools import expected_sample, mediainfo_time_reference, sox_decodes, soxi

SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}

CASES = {
    # 4/4, 120 -> 90 BPM at ppq 10, inside bars 3-4 (ppq 8-12), 44.1 kHz, 16-bit
    "4/4-change-44k": dict(rate=44100, bits=16, ts="4/4", tempo=[(0, 120), (10, 90)], region=(F(8), F(12)),
                           project_region={"start_bar": 3, "end_bar": 4}, stems=["drums"]),
    # 7/8 (3.5 quarters a bar), 100 -> 140 BPM at ppq 6, inside bars 2-4 (ppq 3.5-10.5), 48 kHz, 24-bit, two stems
    "7/8-change-48k": dict(rate=48000, bits=24, ts="7/8", tempo=[(0, 100), (6, 140)], region=(F(7, 2), F(21, 2)),
                           project_region={"start_bar": 2, "end_bar": 4}, stems=["bass", "melody"]),
    # 5/4 (5 quarters a bar), 96 -> 97.5 BPM at ppq 7.5 inside bars 2-3 (ppq 5-10), another change after, 96 kHz float
    "5/4-change-96k": dict(rate=96000, bits=32, ts="5/4", tempo=[(0, 96), (F(15, 2), F(195, 2)), (12, 150)],
                           region=(F(5), F(10)), project_region={"start_bar": 2, "end_bar": 3}, stems=["drums"]),
    # constant 137.5 BPM, a region off the bar lines given in PPQ, and a mono track in the mixdown
    "ppq-region-track-44k": dict(rate=44100, bits=24, ts="4/4", tempo=[(0, F(275, 2))], region=(F(13, 2), F(45, 4)),
                                 project_region={"start_ppq": "13/2", "end_ppq": 11.25}, stems=["instrument"],
                                 track=True),
}


def _tempo_json(tempo: list[tuple]) -> list[list[str]]:
    return [[str(p), str(b)] for p, b in tempo]


@pytest.mark.parametrize("name", list(CASES))
def test_stems_land_on_the_expected_sample(name: str, tiny_server: str, tmp_path: Path) -> None:
    case = CASES[name]
    rate, bits = case["rate"], case["bits"]
    tempo = [(F(p), F(b)) for p, b in case["tempo"]]
    start = expected_sample(case["region"][0], tempo, rate)
    end = expected_sample(case["region"][1], tempo, rate)
    tracks = []
    track_audio = None
    if case.get("track"):
        track_audio = (0.2 * np.sin(np.arange(rate) / 7.0)).astype(np.float32)  # 1 s, mono
        sf.write(tmp_path / "track.wav", track_audio, rate, subtype="FLOAT")
        tracks = [{"name": "pad", "file": "track.wav", "start_ppq": 6}]
    project_file = write_project(tmp_path, sample_rate=rate, bit_depth=bits, time_signature=case["ts"],
                                 tempo_map=_tempo_json(case["tempo"]), region=case["project_region"],
                                 stems=case["stems"], tracks=tracks)
    project = load_project(project_file)
    assert project.region_samples == (start, end)

    out = OutputFolder(tmp_path / "out")
    with BridgeClient(tiny_server, timeout=120) as client:
        report = run_generate(project, client, out)
    assert sorted(f.stem for f in report.files) == sorted(case["stems"])

    placed = np.zeros((2, end), dtype=np.float64)
    if track_audio is not None:
        t0 = expected_sample(F(6), tempo, rate)
        placed[:, t0 : t0 + track_audio.size] += track_audio
    for f in report.files:
        path = out.path / f.file
        info = sf.info(str(path))
        assert (info.samplerate, info.frames, info.channels, info.subtype) == (rate, end - start, 2, SUBTYPES[bits])
        wav = read_info(path)
        assert wav.time_reference == start and "PEAK" not in wav.chunks
        assert f.start_sample == start and f.frames == end - start
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
        assert np.abs(audio).max() > 0
        placed[:, wav.time_reference : wav.time_reference + audio.shape[0]] += audio.T

    mix, mix_rate = sf.read(str(out.path / "mixdown.wav"), dtype="float32", always_2d=True)
    mix_start = read_info(out.path / "mixdown.wav").time_reference
    assert mix_rate == rate and mix_start + mix.shape[0] == end
    assert mix_start == (start if track_audio is None else expected_sample(F(6), tempo, rate))
    assert not placed[:, :mix_start].any()
    np.testing.assert_allclose(mix.T, placed[:, mix_start:], atol=1e-6)  # every stem at its bext position
    shifted = np.roll(placed, 1, axis=1)
    assert np.abs(mix.T - shifted[:, mix_start:])[:, start - mix_start :].max() > 1e-3  # one sample off would show


def test_written_stems_read_back_in_sox_and_mediainfo(tiny_server: str, tmp_path: Path) -> None:
    """The bext TimeReference reads back with independent tools (sox/soxi for the audio, mediainfo for bext)."""
    project = load_project(write_project(tmp_path, sample_rate=44100, bit_depth=16, time_signature="7/8",
                                         tempo_map=[[0, 100], [6, 140]], region={"start_bar": 2, "end_bar": 3}))
    out = OutputFolder(tmp_path / "out")
    with BridgeClient(tiny_server, timeout=120) as client:
        (f,) = run_generate(project, client, out).files
    start = expected_sample(F(7, 2), [(F(0), F(100)), (F(6), F(140))], 44100)
    path = out.path / f.file
    assert f.file == "drums_take1_bars2-3.wav"
    fields = soxi(path)
    assert fields["rate"] == "44100" and fields["channels"] == "2" and fields["bits"] == "16"
    assert int(fields["samples"]) == f.frames and "Signed Integer PCM" in fields["encoding"]
    assert sox_decodes(path) == 2 * f.frames
    assert mediainfo_time_reference(path) == start == f.start_sample
