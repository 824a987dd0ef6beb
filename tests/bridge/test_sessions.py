"""Co-composition sessions, uploaded context and the context tasks, over real gRPC (fake pipeline)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bridge.audio_io import encode_pcm
from tests.bridge.conftest import Served
from tests.bridge.harness import assert_contiguous, collect, pb, timeline

# 4 bars of 4/4 at 120 BPM from bar 3: samples 192000..576000 at 48 kHz (8 s)
TL = timeline(bpm=120, rate=48000, start_bar=3, end_bar=7)
START, LENGTH = 192000, 384000


def _upload(served: Served, audio: np.ndarray, *, start_sample: int, rate: int = 48000, chunk: int = 65536) -> str:
    data = encode_pcm(audio, "float32")
    parts = [pb.UploadContextRequest(header=pb.UploadHeader(name="bounce", sample_rate=rate, channels=audio.shape[0],
                                                            frames=audio.shape[1], start_sample=start_sample))]
    parts += [pb.UploadContextRequest(data=data[i:i + chunk]) for i in range(0, len(data), chunk)]
    parts.append(pb.UploadContextRequest(trailer=pb.UploadTrailer(sha256=hashlib.sha256(data).hexdigest())))
    reply = served.stub.UploadContext(iter(parts), timeout=10)
    assert reply.frames == audio.shape[1]
    return reply.context_id


def _tone(frames: int, channels: int = 2) -> np.ndarray:
    return (0.1 * np.sin(np.arange(frames) / 20.0)).astype(np.float32)[None].repeat(channels, 0)


def test_keep_takes_and_regenerate_conditioned_on_them(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(timeline=TL, prompt="lofi", name="song"))
    sid = session.session_id
    assert session.plan.start_sample == START and session.plan.length == LENGTH
    first = collect(served.stub.Generate(pb.GenerateRequest(session_id=sid)))
    assert first.error is None
    old_drums = first.done["drums"].take_id

    again = collect(served.stub.Regenerate(pb.RegenerateRequest(session_id=sid, stems=["drums"], seed=9)))
    assert again.error is None and list(again.done) == ["drums"]
    assert_contiguous(again, start=START, length=LENGTH)
    kind, call = served.pipeline.calls[-1]
    assert kind == "compose" and call["keep"] == ["bass", "instrument", "melody"] and call["generate"] == ["drums"]
    assert call["region"] is None and call["frames"] == 384000  # model rate 48 kHz, 8 s
    new_drums = again.done["drums"].take_id
    assert served.stub.GetSession(pb.GetSessionRequest(session_id=sid)).selected["drums"] == new_drums

    kept = served.stub.KeepTakes(pb.KeepTakesRequest(session_id=sid, take_ids=[old_drums]))
    assert kept.selected["drums"] == old_drums
    takes = served.stub.ListTakes(pb.ListTakesRequest(session_id=sid, stem="drums")).takes
    assert [(t.take_id, t.selected) for t in takes] == [(old_drums, True), (new_drums, False)]

    # bars 4-6 of the melody, everything else fixed: Composer Algorithm 1 with a region
    bars = collect(served.stub.Regenerate(pb.RegenerateRequest(session_id=sid, stems=["melody"], start_bar=4,
                                                                end_bar=6)))
    assert bars.error is None
    kind, call = served.pipeline.calls[-1]
    assert call["region"] == pytest.approx((2.0, 6.0))  # bar 4 starts 1 bar (2 s) after bar 3; bar 6 at 6 s
    assert call["context"] == ["melody"] and call["keep"] == ["bass", "drums", "instrument"]
    new_melody = served.stub.ListTakes(pb.ListTakesRequest(session_id=sid, stem="melody")).takes[-1]
    assert (new_melody.start_bar, new_melody.end_bar) == (4, 6)
    # outside the bars the new take equals the old one
    old = first.audio("melody")
    new = bars.audio("melody")
    assert np.array_equal(old[:, : 96000 - 5000], new[:, : 96000 - 5000])
    assert not np.array_equal(old[:, 100000:280000], new[:, 100000:280000])


def test_compose_inpaint_and_continue_with_uploaded_context(served: Served) -> None:
    bass = _upload(served, _tone(LENGTH), start_sample=START)
    composed = collect(served.stub.Generate(pb.GenerateRequest(
        timeline=TL, task=pb.TASK_COMPOSE, context=[pb.ContextRef(context_id=bass, stem="bass")])))
    assert composed.error is None and sorted(composed.done) == ["drums", "instrument", "melody"]
    assert served.pipeline.calls[-1][1]["keep"] == ["bass"]

    window = pb.Region(start_sample=START + 96000, end_sample=START + 192000)
    inpainted = collect(served.stub.Generate(pb.GenerateRequest(
        timeline=TL, task=pb.TASK_INPAINT, inpaint=window, context=[pb.ContextRef(context_id=bass, stem="bass")])))
    assert inpainted.error is None and list(inpainted.done) == ["bass"]
    kind, call = served.pipeline.calls[-1]
    assert kind == "inpaint" and (call["start"], call["end"]) == pytest.approx((2.0, 4.0))

    head = _upload(served, _tone(96000, channels=1), start_sample=START - 96000)  # mono, ends at the region start
    continued = collect(served.stub.Generate(pb.GenerateRequest(
        timeline=TL, task=pb.TASK_CONTINUE, context=[pb.ContextRef(context_id=head, stem="melody")])))
    assert continued.error is None and list(continued.done) == ["melody"]
    assert_contiguous(continued, start=START, length=LENGTH)
    assert served.pipeline.calls[-1][1]["frames"] == 96000


def test_context_that_does_not_match_its_region_is_refused(served: Served) -> None:
    import grpc

    short = _upload(served, _tone(LENGTH - 1), start_sample=START)
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Generate(pb.GenerateRequest(
            timeline=TL, task=pb.TASK_COMPOSE, context=[pb.ContextRef(context_id=short, stem="bass")])))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"but the region is {START}-{START + LENGTH} ({LENGTH} frames): upload exactly the region" in info.value.details()
    gap = _upload(served, _tone(1000), start_sample=START - 2000)
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Generate(pb.GenerateRequest(
            timeline=TL, task=pb.TASK_CONTINUE, context=[pb.ContextRef(context_id=gap, stem="bass")])))
    assert "upload the audio just before the region" in info.value.details()
    rate = _upload(served, _tone(LENGTH), start_sample=START, rate=44100)
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Generate(pb.GenerateRequest(
            timeline=TL, task=pb.TASK_COMPOSE, context=[pb.ContextRef(context_id=rate, stem="bass")])))
    assert "upload it at the host rate" in info.value.details()
