"""Check and assemble a Generate/Regenerate event stream into whole stems at absolute host positions.

Every chunk must continue exactly where the previous one ended (no gap, no overlap, indices 0, 1, 2, ...), at the
host rate, inside the region the stub computed itself; at ``stem_done`` the frames, chunk count, start sample and
the SHA-256 of the concatenated payloads must match. Anything else is a :class:`StubError`: a stem that would
land off the grid is never written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from plugin_stub.errors import StubError
from plugin_stub.pcm import FLOAT32, INT24, bytes_per_sample, decode
from plugin_stub.protocol import pb

FORMAT_NAMES = {pb.SAMPLE_FORMAT_UNSPECIFIED: FLOAT32, pb.SAMPLE_FORMAT_FLOAT32: FLOAT32,
                pb.SAMPLE_FORMAT_INT24: INT24}


@dataclass(frozen=True)
class ExpectedRegion:
    """Where the stub's own transport puts the region: host samples ``[start_sample, end_sample)`` at ``sample_rate``."""

    start_sample: int
    end_sample: int
    sample_rate: int

    @property
    def length(self) -> int:
        return self.end_sample - self.start_sample


@dataclass
class ReceivedStem:
    """One verified stem: ``audio: [C, frames]`` float32, whose first frame belongs at host sample ``start_sample``."""

    stem: str
    take_id: str
    start_sample: int
    sample_rate: int
    audio: np.ndarray
    fmt: str
    stretch_ratio: float = 1.0
    measured_bpm: float = 0.0

    @property
    def end_sample(self) -> int:
        return self.start_sample + int(self.audio.shape[1])


class StemAssembler:
    """Collects the chunks of one stem; :meth:`finish` verifies them against ``stem_done``."""

    def __init__(self, stem: str, expected: ExpectedRegion) -> None:
        self.stem, self.expected = stem, expected
        self.parts: list[np.ndarray] = []
        self.digest = hashlib.sha256()
        self.position = expected.start_sample
        self.count = 0
        self.fmt: str | None = None
        self.channels = 0

    def add(self, chunk: pb.StemChunk) -> None:
        where = f"stem {self.stem} chunk {chunk.index}"
        if chunk.index != self.count:
            raise StubError(f"{where} arrived out of order (expected chunk {self.count}): the stream is corrupt")
        if chunk.start_sample != self.position:
            kind = "a gap" if chunk.start_sample > self.position else "an overlap"
            raise StubError(f"{where} starts at sample {chunk.start_sample} but the previous one ended at "
                            f"{self.position}: {kind} of {abs(chunk.start_sample - self.position)} samples")
        if chunk.sample_rate and chunk.sample_rate != self.expected.sample_rate:
            raise StubError(f"{where} is at {chunk.sample_rate} Hz but the host runs at {self.expected.sample_rate} Hz")
        fmt = FORMAT_NAMES.get(chunk.format)
        if fmt is None or (self.fmt is not None and fmt != self.fmt):
            raise StubError(f"{where} has sample format {chunk.format}, unknown or different from earlier chunks")
        if chunk.channels not in (1, 2) or (self.channels and chunk.channels != self.channels):
            raise StubError(f"{where} has {chunk.channels} channels, unsupported or different from earlier chunks")
        if len(chunk.data) != chunk.frames * chunk.channels * bytes_per_sample(fmt) or chunk.frames == 0:
            raise StubError(f"{where} holds {len(chunk.data)} bytes, not {chunk.frames} frames of "
                            f"{chunk.channels}-channel {fmt}")
        if chunk.start_sample + chunk.frames > self.expected.end_sample:
            raise StubError(f"{where} runs to sample {chunk.start_sample + chunk.frames}, past the region end "
                            f"{self.expected.end_sample}")
        self.fmt, self.channels = fmt, chunk.channels
        self.parts.append(decode(chunk.data, channels=chunk.channels, fmt=fmt))
        self.digest.update(chunk.data)
        self.position += chunk.frames
        self.count += 1

    def finish(self, done: pb.StemDone) -> ReceivedStem:
        where = f"stem {self.stem}"
        if self.position != self.expected.end_sample:
            raise StubError(f"{where} ended at sample {self.position}, not at the region end "
                            f"{self.expected.end_sample}: {self.expected.end_sample - self.position} samples missing")
        if done.start_sample != self.expected.start_sample or done.frames != self.expected.length:
            raise StubError(f"{where}: the server reports start {done.start_sample} and {done.frames} frames, "
                            f"the region is {self.expected.start_sample} + {self.expected.length}")
        if done.chunks and done.chunks != self.count:
            raise StubError(f"{where}: the server sent {done.chunks} chunks but {self.count} arrived")
        if done.pcm_sha256 and done.pcm_sha256 != self.digest.hexdigest():
            raise StubError(f"{where}: checksum mismatch (received audio has sha256 {self.digest.hexdigest()[:16]}..., "
                            f"the server sent {done.pcm_sha256[:16]}...): generate again")
        assert self.fmt is not None
        return ReceivedStem(stem=self.stem, take_id=done.take_id, start_sample=self.expected.start_sample,
                            sample_rate=self.expected.sample_rate, audio=np.concatenate(self.parts, axis=1),
                            fmt=self.fmt, stretch_ratio=done.stretch_ratio, measured_bpm=done.measured_bpm)


@dataclass
class JobResult:
    """A finished job: its verified stems in arrival order, the session it added takes to, and timing."""

    job_id: str = ""
    session_id: str = ""
    stems: dict[str, ReceivedStem] = field(default_factory=dict)
    take_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    plan: pb.RegionPlan | None = None


def receive_job(events: Iterable[pb.JobEvent], expected: ExpectedRegion, *,
                on_progress: Callable[[int, int], None] | None = None) -> JobResult:
    """Consume a JobEvent stream; returns the verified stems (StubError on any inconsistency or server error)."""
    result = JobResult()
    open_stems: dict[str, StemAssembler] = {}
    for event in events:
        kind = event.WhichOneof("event")
        result.job_id = result.job_id or event.job_id
        if kind == "accepted":
            plan = event.accepted.plan
            result.session_id, result.plan = event.accepted.session_id, plan
            if (plan.start_sample, plan.end_sample) != (expected.start_sample, expected.end_sample):
                raise StubError(
                    f"the server placed the region at samples {plan.start_sample}-{plan.end_sample} but the host "
                    f"timeline puts it at {expected.start_sample}-{expected.end_sample}: the tempo maps disagree")
        elif kind == "progress":
            if on_progress is not None:
                on_progress(event.progress.step, event.progress.total)
        elif kind == "chunk":
            stem = event.chunk.stem
            if stem in result.stems:
                raise StubError(f"stem {stem} got another chunk after it was done")
            open_stems.setdefault(stem, StemAssembler(stem, expected)).add(event.chunk)
        elif kind == "stem_done":
            stem = event.stem_done.stem
            if stem not in open_stems:
                raise StubError(f"stem {stem} was reported done but no audio arrived for it")
            result.stems[stem] = open_stems.pop(stem).finish(event.stem_done)
        elif kind == "done":
            if open_stems:
                raise StubError(f"the job ended with unfinished stems: {', '.join(open_stems)}")
            result.take_ids, result.seconds = list(event.done.take_ids), event.done.seconds
            return result
        elif kind == "error":
            raise StubError(f"the server failed the job ({event.error.code}): {event.error.message}")
    raise StubError("the server closed the stream before the job was done: try again")
