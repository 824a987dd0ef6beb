"""Every bad field answers INVALID_ARGUMENT (or NOT_FOUND) with a message that says what to fix."""

from __future__ import annotations

import grpc
import pytest

from tests.bridge.conftest import Served
from tests.bridge.harness import pb, timeline


def _req(**kw) -> pb.GenerateRequest:  # noqa: ANN003
    tl = kw.pop("timeline", timeline(start_bar=1, end_bar=3))
    return pb.GenerateRequest(timeline=tl, **kw)


CASES = [
    ("rate", _req(timeline=timeline(rate=22050, start_bar=1, end_bar=2)), "use one of 44100, 48000, 88200, 96000"),
    ("bpm low", _req(timeline=timeline(bpm=10, start_bar=1, end_bar=2)), "outside 20-400"),
    ("bpm high", _req(timeline=timeline(bpm=401, start_bar=1, end_bar=2)), "outside 20-400"),
    ("bpm nan", _req(timeline=timeline(bpm=float("nan"), start_bar=1, end_bar=2)), "not a finite number"),
    ("no bpm", _req(timeline=pb.Timeline(sample_rate=48000, region=pb.Region(start_bar=1, end_bar=2))), "timeline.bpm is missing"),
    ("tempo map order", _req(timeline=timeline(tempo_map=[(0, 120), (4, 90), (2, 100)], start_bar=1, end_bar=2)),
     "sort the points"),
    ("tempo map start", _req(timeline=timeline(tempo_map=[(1, 120)], start_bar=1, end_bar=2)), "start the tempo map"),
    ("bpm and map", _req(timeline=pb.Timeline(bpm=120, tempo_map=[pb.TempoPoint(ppq=0, bpm=100)], sample_rate=48000,
                                               region=pb.Region(start_bar=1, end_bar=2))), "send one"),
    ("denominator", _req(timeline=timeline(den=5, start_bar=1, end_bar=2)), "denominator 5"),
    ("no region", _req(timeline=timeline()), "timeline.region is missing"),
    ("half region", _req(timeline=timeline(start_ppq=0.0)), "give both start_ppq and end_ppq"),
    ("reversed", _req(timeline=timeline(start_sample=1000, end_sample=10)), "not after start_sample"),
    ("negative ppq", _req(timeline=timeline(start_ppq=-4.0, end_ppq=4.0)), "is negative"),
    ("ppq vs samples", _req(timeline=timeline(start_ppq=0.0, end_ppq=4.0, start_sample=0, end_sample=5000)),
     "disagrees with end_ppq"),
    ("too long", _req(timeline=timeline(bpm=60, start_bar=1, end_bar=10)), "the model's maximum is 30.00 s"),
    ("prompt", _req(prompt="x" * 1001), "limit is 1000"),
    ("stem", _req(stems=["guitar"]), "unknown stem guitar: use bass, drums, instrument, melody, mix"),
    ("stem twice", _req(stems=["bass", "bass"]), "listed twice"),
    ("mix with stems", _req(stems=["mix", "bass"]), "ask for it alone"),
    ("steps", _req(steps=5000), "steps 5000 is outside 1-1000"),
    ("chunk", _req(chunk_frames=10), "chunk_frames 10 is outside 256-65536"),
    ("inpaint no ctx", _req(task=pb.TASK_INPAINT), "needs exactly one context track"),
    ("compose no ctx", _req(task=pb.TASK_COMPOSE), "needs context tracks"),
    ("bad context id", _req(task=pb.TASK_COMPOSE, context=[pb.ContextRef(context_id="../x", stem="bass")]),
     "is not a context id"),
    ("unknown session", _req(timeline=None, session_id="s_0123456789abcdef"), "does not exist"),
    ("bad session", pb.GenerateRequest(session_id="nope"), "not a session id"),
    ("no timeline", pb.GenerateRequest(prompt="x"), "timeline is missing"),
    ("task enum", _req(task=9), "task 9 is unknown"),
]


@pytest.mark.parametrize(("name", "request_", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_invalid_generate(served: Served, name: str, request_: pb.GenerateRequest, fragment: str) -> None:
    if name == "unknown session":
        request_.ClearField("timeline")
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Generate(request_, timeout=10))
    expected = grpc.StatusCode.NOT_FOUND if name == "unknown session" else grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.code() == expected, info.value.details()
    assert fragment in info.value.details()
    assert served.pipeline.calls == []  # nothing reached the model


def test_session_with_timeline_is_refused(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(timeline=timeline(start_bar=1, end_bar=2)))
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Generate(_req(session_id=session.session_id)))
    assert "timeline must be unset when session_id is given" in info.value.details()


def test_upload_errors(served: Served) -> None:
    def upload(parts: list[pb.UploadContextRequest]) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as info:
            served.stub.UploadContext(iter(parts), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        return info.value

    header = pb.UploadContextRequest(header=pb.UploadHeader(sample_rate=48000, channels=2, frames=10))
    assert "data came before the header" in upload([pb.UploadContextRequest(data=b"\0" * 8)]).details()
    assert "over 262144" in upload([header, pb.UploadContextRequest(data=b"\0" * 262145)]).details()
    assert "more data than" in upload([header, pb.UploadContextRequest(data=b"\0" * 88)]).details()
    assert "send all the data" in upload([header, pb.UploadContextRequest(data=b"\0" * 8),
                                          pb.UploadContextRequest(trailer=pb.UploadTrailer(sha256="00"))]).details()
    err = upload([header, pb.UploadContextRequest(data=b"\0" * 80),
                  pb.UploadContextRequest(trailer=pb.UploadTrailer(sha256="ab" * 32))])
    assert "checksum mismatch" in err.details()
    bad_rate = pb.UploadContextRequest(header=pb.UploadHeader(sample_rate=8000, channels=2, frames=10))
    assert "sample_rate 8000" in upload([bad_rate]).details()
    assert "without a trailer" in upload([header]).details()


def test_regenerate_errors(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(timeline=timeline(start_bar=1, end_bar=3)))
    sid = session.session_id

    def regen(**kw) -> str:  # noqa: ANN003
        with pytest.raises(grpc.RpcError) as info:
            list(served.stub.Regenerate(pb.RegenerateRequest(session_id=sid, **kw), timeout=10))
        return info.value.details()

    assert "name the stems to regenerate" in regen()
    assert "has no take yet" in regen(stems=["bass"], start_bar=1, end_bar=2)
    assert "exactly one stem" in regen(stems=["bass", "drums"], start_bar=1, end_bar=2)
    assert "outside the session region (bars 1-3)" in regen(stems=["bass"], start_bar=2, end_bar=5)
    assert "give both start_bar and end_bar" in regen(stems=["bass"], start_bar=2)
    assert "is not a take id" in regen(stems=["bass"], keep_take_ids=["x"])
