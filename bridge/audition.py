"""Audition: stream a session's selected takes, mixed, in step with the host transport.

:class:`Playback` is the pure state machine (no I/O): it hands out chunks stamped with absolute host sample
positions while playing, never more than ``max_ahead`` chunks past the last acknowledged one; a transport
update whose playhead falls outside what was sent is a seek (new epoch); loops wrap at the loop end.
:func:`serve` is the gRPC glue used by the servicer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np

from bridge.audio_io import encode_pcm, quantize, read_wav, to_stereo
from bridge.convert import FORMAT_ENUMS, format_name
from bridge.specs import get_session
from bridge.store import Store
from bridge.v1 import bridge_pb2 as pb
from bridge.validate import ModelInfo, ValidationError, check_chunk_frames, check_stems

MAX_AHEAD = 64
DEFAULT_AHEAD = 4


@dataclass
class ChunkPlan:
    sequence: int
    epoch: int
    start_sample: int
    frames: int


class Playback:
    """Which chunk to send next. Audio covers host samples ``[start, end)``."""

    def __init__(self, *, start: int, end: int, chunk_frames: int, max_ahead: int) -> None:
        self.start, self.end = start, end
        self.chunk_frames, self.max_ahead = chunk_frames, max_ahead
        self.playing = False
        self.position = start  # next sample to send
        self.epoch = 0
        self.next_sequence = 0
        self.acked = -1  # last acknowledged sequence
        self.epoch_first_sequence = 0
        self.loop: tuple[int, int] | None = None
        self._sent_from = start  # window of samples sent in this epoch (for seek detection)
        self._last_playhead = start

    def transport(self, *, playing: bool, playhead: int, loop: tuple[int, int] | None) -> None:
        self.loop = loop if loop and loop[1] > loop[0] else None
        started = playing and not self.playing
        self.playing = playing
        inside = self._sent_from - self.chunk_frames <= playhead <= self.position + self.chunk_frames
        looped = self.loop is not None and self.loop[0] <= self.position <= self.loop[1]
        wrapped = False
        if looped and self.loop is not None and self.loop[0] <= playhead < self.loop[1]:
            inside = True  # the host wraps on its own; our position wraps at the loop end too
            wrapped = playhead < self._last_playhead and self._last_playhead >= self.loop[1] - self.chunk_frames
        # A playhead that moved backwards (not a loop wrap) is a seek even inside the window sent:
        # the client dropped those chunks once played, so resuming from `position` would starve it.
        if playhead < self._last_playhead and not wrapped:
            inside = False
        self._last_playhead = playhead
        if started or not inside:
            self._seek(playhead)

    def _seek(self, playhead: int) -> None:
        self.epoch += 1
        self.position = max(self.start, playhead)
        self._sent_from = self.position
        self.acked = self.next_sequence - 1  # chunks of old epochs no longer count against the window
        self.epoch_first_sequence = self.next_sequence

    def ack(self, sequence: int) -> None:
        if sequence < self.next_sequence:
            self.acked = max(self.acked, sequence)

    def next_chunk(self) -> ChunkPlan | None:
        if not self.playing or self.next_sequence - 1 - self.acked >= self.max_ahead:
            return None
        if self.loop is not None and self.position >= self.loop[1]:
            self.position = max(self.start, self.loop[0])
        stop = self.end if self.loop is None else min(self.end, self.loop[1])
        if self.position >= stop:
            return None
        frames = min(self.chunk_frames, stop - self.position)
        plan = ChunkPlan(self.next_sequence, self.epoch, self.position, frames)
        self.next_sequence += 1
        self.position += frames
        return plan


def load_mix(*, store: Store, model: ModelInfo, session_id: str, stems: Sequence[str]) -> tuple[np.ndarray, int, int]:
    """Mix the session's selected takes of ``stems`` (empty: all selected) -> (audio ``[2, N]``, start, rate)."""
    session = get_session(store=store, session_id=session_id)
    selection = store.selection(session.id)
    wanted = check_stems(stems, model) if stems else tuple(selection)
    missing = [s for s in wanted if s not in selection]
    if missing or not wanted:
        raise ValidationError(f"no selected take for {', '.join(missing) or 'any stem'}: generate takes first")
    mix, start, rate = None, 0, 0
    for stem in wanted:
        take = store.get_take(selection[stem])
        assert take is not None
        audio, rate = read_wav(store.resolve(take.path))
        audio = to_stereo(audio)
        mix = audio.copy() if mix is None else mix + audio[:, : mix.shape[1]]
        start = take.start_sample
    assert mix is not None
    return mix, start, rate


async def serve(requests: AsyncIterator[pb.AuditionRequest], *, store: Store, model: ModelInfo
                ) -> AsyncIterator[pb.AuditionEvent]:
    """Run one audition stream: first request must be ``start``; yields chunk events."""
    first = await anext(requests, None)
    if first is None or first.WhichOneof("message") != "start":
        raise ValidationError("audition: the first message must be `start` (session and stems)")
    s = first.start
    if s.max_ahead > MAX_AHEAD:
        raise ValidationError(f"audition: max_ahead {s.max_ahead} is over {MAX_AHEAD}: ask for fewer chunks ahead")
    fmt = format_name(s.format)
    mix, start, rate = await asyncio.to_thread(load_mix, store=store, model=model, session_id=s.session_id,
                                               stems=list(s.stems))
    mix = quantize(mix, fmt)
    playback = Playback(start=start, end=start + mix.shape[1], chunk_frames=check_chunk_frames(s.chunk_frames),
                        max_ahead=s.max_ahead or DEFAULT_AHEAD)
    wake = asyncio.Event()

    async def read() -> None:
        async for req in requests:
            kind = req.WhichOneof("message")
            if kind == "transport":
                t = req.transport
                loop = None
                if t.HasField("loop_start_sample") and t.HasField("loop_end_sample"):
                    loop = (t.loop_start_sample, t.loop_end_sample)
                playback.transport(playing=t.playing, playhead=t.playhead_sample, loop=loop)
            elif kind == "ack":
                playback.ack(req.ack.sequence)
            wake.set()

    reader = asyncio.create_task(read())
    reader.add_done_callback(lambda _: wake.set())
    try:
        while True:
            plan = playback.next_chunk()
            if plan is None:
                if reader.done():
                    reader.result()  # re-raise a reader error
                    return
                wake.clear()
                await wake.wait()
                continue
            offset = plan.start_sample - start
            data = encode_pcm(mix[:, offset : offset + plan.frames], fmt)
            yield pb.AuditionEvent(chunk=pb.AuditionChunk(
                sequence=plan.sequence, epoch=plan.epoch,
                chunk=pb.StemChunk(stem="mix", index=plan.sequence, start_sample=plan.start_sample, frames=plan.frames,
                                   channels=2, format=FORMAT_ENUMS[fmt], data=data, sample_rate=rate),
            ))
    finally:
        reader.cancel()
