"""Generate over real gRPC against the real server (fake pipeline): chunks, files, checksums, placement."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bridge.audio_io import read_wav
from tests.bridge.conftest import Served
from tests.bridge.harness import assert_contiguous, collect, pb, timeline


def _check_files(result, data_dir: Path) -> None:  # noqa: ANN001
    for stem, done in result.done.items():
        path = Path(done.path)
        assert data_dir in path.parents
        assert hashlib.sha256(path.read_bytes()).hexdigest() == done.sha256
        assert result.pcm_sha(stem) == done.pcm_sha256
        audio, _ = read_wav(path)
        np.testing.assert_array_equal(audio, result.audio(stem))  # the file holds exactly what was streamed


def test_four_stems_stream_in_order_without_gaps_and_match_the_files(served: Served) -> None:
    req = pb.GenerateRequest(timeline=timeline(bpm=120, rate=48000, start_bar=3, end_bar=5), prompt="funk",
                             chunk_frames=5000, seed=3)
    result = collect(served.stub.Generate(req, timeout=30))
    assert result.error is None
    kinds = [e.WhichOneof("event") for e in result.events]
    assert kinds[0] == "accepted" and kinds[-1] == "done"
    assert kinds[1:5] == ["progress"] * 4
    plan = result.events[0].accepted.plan
    assert (plan.start_sample, plan.length, plan.whole_bars) == (192000, 192000, 2)
    assert sorted(result.done) == ["bass", "drums", "instrument", "melody"]
    assert_contiguous(result, start=192000, length=192000)
    assert len(result.chunks["bass"]) == 39  # ceil(192000 / 5000)
    _check_files(result, served.data_dir)
    assert list(result.events[-1].done.take_ids) == [d.take_id for d in result.done.values()]


def test_region_bar_5_to_13_at_97_bpm_in_7_8_at_44_1_khz(served: Served) -> None:
    # bar 5 starts 4 bars x 3.5 quarters = 14 quarters in; 14 * 60 / 97 s * 44100 = 381896.9 -> 381897
    # 8 bars = 28 quarters = 17.3196 s -> end 1145691 (42 quarters), length 763794
    req = pb.GenerateRequest(timeline=timeline(bpm=97, num=7, den=8, rate=44100, start_bar=5, end_bar=13),
                             stems=["bass"], format=pb.SAMPLE_FORMAT_INT24)
    result = collect(served.stub.Generate(req, timeout=30))
    assert result.error is None
    assert_contiguous(result, start=381897, length=763794)
    done = result.done["bass"]
    assert (done.start_sample, done.frames) == (381897, 763794)
    _check_files(result, served.data_dir)
    call = served.pipeline.calls[-1][1]
    assert call["bpm"] == pytest.approx(97.0) and call["bars"] == 8 and call["seconds"] == pytest.approx(28 * 60 / 97)


def test_tempo_map_region_and_sample_positions(served: Served) -> None:
    # 120 BPM for 8 quarters (4 s), then 60 BPM: ppq 8..12 lasts 4 s -> samples 192000..384000 at 48 kHz
    tl = timeline(tempo_map=[(0, 120), (8, 60)], rate=48000, start_sample=192000, end_sample=384000)
    result = collect(served.stub.Generate(pb.GenerateRequest(timeline=tl, stems=["melody"]), timeout=30))
    assert result.error is None
    assert_contiguous(result, start=192000, length=192000)
    assert result.events[0].accepted.plan.model_bpm == pytest.approx(60.0)


def test_generate_into_an_existing_session_uses_its_timeline(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(
        timeline=timeline(bpm=100, start_bar=1, end_bar=3), prompt="jazz", name="s1"))
    result = collect(served.stub.Generate(pb.GenerateRequest(session_id=session.session_id, stems=["drums"])))
    assert result.error is None and result.events[0].accepted.session_id == session.session_id
    takes = served.stub.ListTakes(pb.ListTakesRequest(session_id=session.session_id)).takes
    assert [t.stem for t in takes] == ["drums"] and takes[0].selected
    assert takes[0].sha256 == result.done["drums"].sha256


def test_mix_single_track(served: Served) -> None:
    result = collect(served.stub.Generate(pb.GenerateRequest(timeline=timeline(start_bar=1, end_bar=2), stems=["mix"])))
    assert result.error is None and list(result.done) == ["mix"]
    assert served.pipeline.calls[-1][1]["stems"] == ["mix"]
