"""Audition: the flow-control state machine, and a real bidirectional stream that stays a bounded number ahead."""

from __future__ import annotations

import queue
import threading

import numpy as np

from bridge.audition import Playback
from tests.bridge.conftest import Served
from tests.bridge.harness import collect, pb, timeline


def test_playback_window_seek_and_loop() -> None:
    p = Playback(start=1000, end=11000, chunk_frames=1000, max_ahead=3)
    assert p.next_chunk() is None  # not playing yet
    p.transport(playing=True, playhead=0, loop=None)  # before the takes: start at their first sample
    sent = [p.next_chunk() for _ in range(4)]
    assert [c.start_sample for c in sent[:3]] == [1000, 2000, 3000] and sent[3] is None  # window of 3
    p.ack(0)
    assert p.next_chunk().start_sample == 4000
    assert p.next_chunk() is None
    p.transport(playing=True, playhead=2500, loop=None)  # normal progress: no seek
    assert p.epoch == 1
    p.transport(playing=True, playhead=8000, loop=None)  # a jump: seek
    assert p.epoch == 2
    chunk = p.next_chunk()
    assert (chunk.start_sample, chunk.epoch, chunk.sequence) == (8000, 2, 4)
    p.transport(playing=True, playhead=8000, loop=(8000, 9500))
    p.ack(10)  # ignored: never sent
    assert p.next_chunk().frames == 500  # clipped at the loop end
    p.ack(5)
    assert p.next_chunk().start_sample == 8000  # wrapped
    p.transport(playing=False, playhead=8000, loop=None)
    assert p.next_chunk() is None


def test_playback_backward_jump_inside_the_sent_window_is_a_seek() -> None:
    p = Playback(start=0, end=20000, chunk_frames=1000, max_ahead=4)
    p.transport(playing=True, playhead=0, loop=None)
    for _ in range(3):
        p.next_chunk()
    p.ack(0)
    p.ack(1)
    p.transport(playing=True, playhead=2500, loop=None)
    epoch = p.epoch
    p.transport(playing=True, playhead=1200, loop=None)  # back, still inside [0, 3000) sent
    assert p.epoch == epoch + 1
    assert p.next_chunk().start_sample == 1200


def test_playback_loop_wrap_is_not_a_seek() -> None:
    p = Playback(start=0, end=20000, chunk_frames=1000, max_ahead=8)
    p.transport(playing=True, playhead=4000, loop=(4000, 6000))
    for seq in range(3):
        p.next_chunk()
        p.ack(seq)
    p.transport(playing=True, playhead=5800, loop=(4000, 6000))
    epoch = p.epoch
    p.transport(playing=True, playhead=4100, loop=(4000, 6000))  # the host wrapped at the loop end
    assert p.epoch == epoch


def test_audition_stream_follows_transport_and_acks(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(timeline=timeline(bpm=120, start_bar=2, end_bar=4)))
    result = collect(served.stub.Generate(pb.GenerateRequest(session_id=session.session_id, stems=["bass", "melody"])))
    assert result.error is None
    expected = result.audio("bass") + result.audio("melody")

    requests: queue.Queue = queue.Queue()
    requests.put(pb.AuditionRequest(start=pb.AuditionStart(session_id=session.session_id, chunk_frames=4800,
                                                           max_ahead=2)))
    requests.put(pb.AuditionRequest(transport=pb.Transport(playing=True, playhead_sample=96000)))

    def feed():  # noqa: ANN202
        while True:
            item = requests.get()
            if item is None:
                return
            yield item

    call = served.stub.Audition(feed(), timeout=20)
    got = []
    for event in call:
        got.append(event.chunk)
        requests.put(pb.AuditionRequest(ack=pb.Ack(sequence=event.chunk.sequence)))
        if event.chunk.chunk.start_sample + event.chunk.chunk.frames >= 96000 + 192000:
            requests.put(None)
            break
    call.cancel()
    assert [c.sequence for c in got] == list(range(len(got))) and {c.epoch for c in got} == {1}
    starts = [c.chunk.start_sample for c in got]
    assert starts == list(range(96000, 288000, 4800))
    audio = np.concatenate([np.frombuffer(c.chunk.data, "<f4").reshape(-1, 2).T for c in got], axis=1)
    np.testing.assert_allclose(audio, expected, atol=1e-6)


def test_audition_never_runs_more_than_max_ahead(served: Served) -> None:
    session = served.stub.CreateSession(pb.CreateSessionRequest(timeline=timeline(bpm=120, start_bar=1, end_bar=3)))
    assert collect(served.stub.Generate(pb.GenerateRequest(session_id=session.session_id, stems=["bass"]))).error is None
    requests: queue.Queue = queue.Queue()
    requests.put(pb.AuditionRequest(start=pb.AuditionStart(session_id=session.session_id, chunk_frames=1000,
                                                           max_ahead=3)))
    requests.put(pb.AuditionRequest(transport=pb.Transport(playing=True, playhead_sample=0)))
    call = served.stub.Audition(iter(requests.get, None), timeout=10)
    got = [next(call) for _ in range(3)]
    assert [e.chunk.sequence for e in got] == [0, 1, 2]
    # no ack: a fourth chunk must not come; wait a little, then ack one and exactly one more arrives
    box: list = []
    reader = threading.Thread(target=lambda: box.append(next(call)), daemon=True)
    reader.start()
    reader.join(0.3)
    assert not box
    requests.put(pb.AuditionRequest(ack=pb.Ack(sequence=0)))
    reader.join(5)
    assert box and box[0].chunk.sequence == 3
    requests.put(None)
    call.cancel()


def test_audition_refuses_unknown_sessions_and_a_missing_start(served: Served) -> None:
    import grpc
    import pytest

    start = pb.AuditionRequest(start=pb.AuditionStart(session_id="s_0123456789abcdef"))
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Audition(iter([start]), timeout=5))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        list(served.stub.Audition(iter([pb.AuditionRequest(ack=pb.Ack(sequence=1))]), timeout=5))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "first message must be `start`" in info.value.details()
