"""Project files: the examples load, positions are exact, and each mistake is one line naming the problem."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.errors import StubError
from plugin_stub.project import load_project
from tests.plugin_stub.conftest import write_project

EXAMPLES = Path(__file__).resolve().parents[2] / "plugin_stub" / "examples"


def test_the_examples_load() -> None:
    demo = load_project(EXAMPLES / "demo.json")
    assert demo.region_samples == (192000, 384000) and demo.task == "compose"
    assert demo.selection.stems() == ["bass"] and demo.selection.tracks[0].start_sample == 192000
    assert demo.transport.loop == (192000, 384000) and demo.transport.playhead_sample == 192000
    odd = load_project(EXAMPLES / "odd_meter.json")
    # 7/8: bar 3 at ppq 7, bar 6 at ppq 17.5; 128 BPM until bar 4 (ppq 10.5), then 97.5
    start = F(7) * 60 / 128
    end = F(21, 2) * 60 / 128 + F(7) * 60 / F(195, 2)
    assert odd.region_samples == (int(start * 44100 + F(1, 2)), int(end * 44100 + F(1, 2)))
    assert odd.bit_depth == 16 and odd.wire_format_name == "float32"


def test_timeline_message_carries_ppq_and_samples(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, tempo_map=[[0, "97.5"], {"bar": 3, "bpm": 140}],
                                         time_signature=[5, 4], region={"start_ppq": "15/2", "end_bar": 4}))
    msg = project.timeline()
    assert [(p.ppq, p.bpm) for p in msg.tempo_map] == [(0.0, 97.5), (10.0, 140.0)]
    assert (msg.region.start_ppq, msg.region.end_ppq) == (7.5, 15.0)
    assert (msg.region.start_sample, msg.region.end_sample) == project.region_samples
    assert msg.time_signature.numerator == 5 and msg.sample_rate == 48000


def _error(tmp_path: Path, **fields: object) -> str:
    with pytest.raises(StubError) as info:
        load_project(write_project(tmp_path, **fields))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_each_mistake_names_the_problem(tmp_path: Path) -> None:
    sf.write(tmp_path / "at44k.wav", np.zeros(4410, dtype=np.float32), 44100)
    assert f"track 'bass': audio file {tmp_path / 'gone.wav'} does not exist" in _error(
        tmp_path, tracks=[{"name": "bass", "file": "gone.wav"}])
    assert "track 'keys': at44k.wav is at 44100 Hz but the project runs at 48000 Hz" in _error(
        tmp_path, tracks=[{"name": "keys", "file": "at44k.wav"}])
    assert "region has zero length" in _error(tmp_path, region={"start_bar": 3, "end_bar": 3})
    assert "region ends before it starts" in _error(tmp_path, region={"start_ppq": 8, "end_ppq": 4})
    assert "past the end of the song (bar 9)" in _error(tmp_path, length_bars=8, region={"start_bar": 7,
                                                                                           "end_bar": 10})
    assert "bars are numbered from 1" in _error(tmp_path, region={"start_bar": 0, "end_bar": 2})
    assert "sample_rate 22050" in _error(tmp_path, sample_rate=22050)
    assert "bit_depth 20" in _error(tmp_path, bit_depth=20)
    assert "unknown key 'tempo_bpm'" in _error(tmp_path, tempo_bpm=120)
    assert "not both" in _error(tmp_path, tempo_map=[[0, 120]], tempo=120)
    assert "time_signature" in _error(tmp_path, time_signature="7-8")
    assert "outside 20-400" in _error(tmp_path, tempo=1000)
    assert "task compose needs tracks" in _error(tmp_path, task="compose")
    assert "stems entry 'Drums'" in _error(tmp_path, stems=["Drums"])
    (tmp_path / "broken.json").write_text("{\"sample_rate\": 48000,")
    with pytest.raises(StubError, match="broken.json is not valid JSON"):
        load_project(tmp_path / "broken.json")
    with pytest.raises(StubError, match="does not exist"):
        load_project(tmp_path / "nope.json")


def test_track_positions_and_bounces(tmp_path: Path) -> None:
    audio = np.linspace(-0.5, 0.5, 48000, dtype=np.float32)
    sf.write(tmp_path / "mono.wav", audio, 48000, subtype="FLOAT")
    project = load_project(write_project(tmp_path, tracks=[
        {"name": "a", "file": "mono.wav", "start_bar": 2, "stem": "bass", "gain": 0.5},
        {"name": "b", "file": "mono.wav", "start_ppq": "1/3", "stem": "bass"},
        {"name": "c", "file": "mono.wav", "start_sample": 7}]))
    a, b, c = project.selection.tracks
    assert (a.start_sample, b.start_sample, c.start_sample) == (96000, 8000, 7)
    bounce = project.selection.bounce("bass", 95000, 97000)
    assert bounce.shape == (2, 2000)
    np.testing.assert_allclose(bounce[0, 1000:], 0.5 * audio[:1000], atol=1e-7)  # track a from 96000, at half gain
    assert not bounce[:, :1000].any()  # track b ended at 56000; track c has no stem
    assert json.loads((tmp_path / "project.json").read_text())["tracks"][2]["start_sample"] == 7
