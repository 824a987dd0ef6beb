"""The stream checks: a stem is accepted only when its chunks are complete, contiguous and match the checksum."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from plugin_stub.errors import StubError
from plugin_stub.pcm import decode
from plugin_stub.protocol import pb
from plugin_stub.receive import ExpectedRegion, receive_job

EXPECTED = ExpectedRegion(start_sample=1000, end_sample=1000 + 2500, sample_rate=48000)


def _int24(audio: np.ndarray) -> bytes:
    ints = np.clip(np.round(np.ascontiguousarray(audio.T).astype(np.float64) * 2**23), -2**23, 2**23 - 1).astype("<i4")
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def _events(*, stems: tuple[str, ...] = ("drums",), chunk: int = 1000, fmt: int = pb.SAMPLE_FORMAT_FLOAT32,
            plan: tuple[int, int] = (1000, 3500)) -> list[pb.JobEvent]:
    rng = np.random.default_rng(0)
    events = [pb.JobEvent(job_id="j", accepted=pb.Accepted(session_id="s", plan=pb.RegionPlan(
        start_sample=plan[0], end_sample=plan[1], length=plan[1] - plan[0], sample_rate=48000)))]
    events.append(pb.JobEvent(job_id="j", progress=pb.Progress(step=1, total=1)))
    for stem in stems:
        audio = (rng.standard_normal((2, EXPECTED.length)) * 0.1).astype(np.float32)
        payloads = []
        for i, off in enumerate(range(0, EXPECTED.length, chunk)):
            part = audio[:, off : off + chunk]
            data = part.T.astype("<f4").tobytes() if fmt == pb.SAMPLE_FORMAT_FLOAT32 else _int24(part)
            payloads.append(data)
            events.append(pb.JobEvent(job_id="j", chunk=pb.StemChunk(
                stem=stem, index=i, start_sample=EXPECTED.start_sample + off, frames=part.shape[1], channels=2,
                format=fmt, data=data, sample_rate=48000)))
        events.append(pb.JobEvent(job_id="j", stem_done=pb.StemDone(
            stem=stem, frames=EXPECTED.length, take_id=f"t_{stem}", start_sample=EXPECTED.start_sample,
            pcm_sha256=hashlib.sha256(b"".join(payloads)).hexdigest(), chunks=len(payloads))))
    events.append(pb.JobEvent(job_id="j", done=pb.Done(take_ids=[f"t_{s}" for s in stems], seconds=0.1)))
    return events


def _chunks(events: list[pb.JobEvent]) -> list[int]:
    return [i for i, e in enumerate(events) if e.WhichOneof("event") == "chunk"]


def test_a_good_stream_assembles_whole_stems_at_their_start() -> None:
    events = _events(stems=("drums", "bass"), fmt=pb.SAMPLE_FORMAT_INT24)
    progress = []
    result = receive_job(iter(events), EXPECTED, on_progress=lambda s, t: progress.append((s, t)))
    assert list(result.stems) == ["drums", "bass"] and result.session_id == "s" and progress == [(1, 1)]
    drums = result.stems["drums"]
    assert drums.start_sample == 1000 and drums.audio.shape == (2, 2500) and drums.fmt == "int24"
    first = next(e.chunk for e in events if e.WhichOneof("event") == "chunk")
    np.testing.assert_array_equal(drums.audio[:, :1000], decode(first.data, channels=2, fmt="int24"))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda ev: setattr(ev[_chunks(ev)[1]].chunk, "start_sample", 2001), "a gap of 1 samples"),
    (lambda ev: setattr(ev[_chunks(ev)[1]].chunk, "start_sample", 1999), "an overlap of 1 samples"),
    (lambda ev: setattr(ev[_chunks(ev)[1]].chunk, "index", 2), "out of order"),
    (lambda ev: setattr(ev[_chunks(ev)[0]].chunk, "sample_rate", 44100), "is at 44100 Hz"),
    (lambda ev: setattr(ev[_chunks(ev)[0]].chunk, "frames", 999), "holds 8000 bytes, not 999 frames"),
    (lambda ev: ev.__setitem__(_chunks(ev)[0], pb.JobEvent(job_id="j", chunk=pb.StemChunk(
        stem="drums", index=0, start_sample=1000, frames=1000, channels=2, format=pb.SAMPLE_FORMAT_FLOAT32,
        data=bytes(8000), sample_rate=48000))), "checksum mismatch"),
    (lambda ev: ev.pop(_chunks(ev)[-1]), "ended at sample 3000, not at the region end 3500"),
    (lambda ev: setattr(ev[0].accepted.plan, "start_sample", 1001), "the tempo maps disagree"),
    (lambda ev: ev.__setitem__(len(ev) - 1, pb.JobEvent(job_id="j", error=pb.Error(
        code="INTERNAL", message="the model failed"))), "the server failed the job (INTERNAL): the model failed"),
    (lambda ev: ev.pop(), "closed the stream before the job was done"),
])
def test_a_broken_stream_is_refused(mutate, message: str) -> None:  # noqa: ANN001
    events = _events()
    mutate(events)
    with pytest.raises(StubError, match=None) as info:
        receive_job(iter(events), EXPECTED)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_chunk_past_the_region_end_is_refused() -> None:
    events = _events(chunk=1000)
    last = events[_chunks(events)[-1]].chunk
    last.frames, last.data = 600, last.data + bytes(100 * 8)
    with pytest.raises(StubError, match="past the region end 3500"):
        receive_job(iter(events), EXPECTED)
