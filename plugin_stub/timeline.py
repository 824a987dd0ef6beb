"""The DAW timeline: audio clips at absolute host samples, the mixdown, and a click at the host tempo.

Placement is plain integer arithmetic: a clip whose first frame belongs at host sample ``s`` is added at index
``s - start`` of the rendered range. The mixdown is what the DAW would play, so placement can be checked by ear
and, sample by sample, by tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from plugin_stub.transport import HostTransport

CLICK_SECONDS = 0.02


@dataclass(frozen=True)
class Clip:
    """``audio: [C, N]`` (C 1 or 2) whose first frame plays at host sample ``start_sample``."""

    name: str
    start_sample: int
    audio: np.ndarray

    @property
    def end_sample(self) -> int:
        return self.start_sample + int(self.audio.shape[1])


def extent(clips: Iterable[Clip]) -> tuple[int, int]:
    """``(first start, last end)`` over ``clips`` (``(0, 0)`` when there are none)."""
    spans = [(c.start_sample, c.end_sample) for c in clips]
    if not spans:
        return 0, 0
    return min(s for s, _ in spans), max(e for _, e in spans)


def mixdown(clips: Iterable[Clip], *, start: int, end: int) -> np.ndarray:
    """Sum of ``clips`` over host samples ``[start, end)``: ``[2, end - start]`` float32 (mono clips to both sides)."""
    out = np.zeros((2, max(0, end - start)), dtype=np.float32)
    for clip in clips:
        lo, hi = max(start, clip.start_sample), min(end, clip.end_sample)
        if hi <= lo:
            continue
        part = clip.audio[:, lo - clip.start_sample : hi - clip.start_sample]
        out[:, lo - start : hi - start] += part if part.shape[0] == 2 else part[:1]
    return out


def beat_samples(transport: HostTransport, start: int, end: int, *, every_ppq: Fraction | None = None
                 ) -> list[tuple[int, bool]]:
    """``(host sample, is downbeat)`` of every beat in ``[start, end)``; ``every_ppq`` defaults to the meter's beat."""
    step = every_ppq or transport.time_signature.quarters_per_beat
    bar = transport.time_signature.quarters_per_bar
    lo = transport.ppq_at(max(0, start - 1))
    hi = transport.ppq_at(end) + step
    beats = []
    for q in transport.tempo_map.grid(lo, hi, step):
        s = transport.sample_at(q)
        if start <= s < end:
            beats.append((s, q % bar == 0))
    return beats


def click_track(transport: HostTransport, start: int, end: int, *, every_ppq: Fraction | None = None,
                level: float = 0.5) -> np.ndarray:
    """A metronome over ``[start, end)`` at the host tempo map: ``[2, end - start]``.

    Each click is a decaying cosine (2 kHz on downbeats, 1 kHz otherwise) whose first, loudest sample is the beat's
    exact host sample.
    """
    rate = transport.sample_rate
    out = np.zeros((2, max(0, end - start)), dtype=np.float32)
    t = np.arange(int(CLICK_SECONDS * rate)) / rate
    shapes = {down: (level * np.cos(2 * np.pi * (2000.0 if down else 1000.0) * t) * np.exp(-t / 0.004))
              .astype(np.float32) for down in (False, True)}
    for s, down in beat_samples(transport, start, end, every_ppq=every_ppq):
        click = shapes[down][: end - s]
        out[:, s - start : s - start + click.shape[0]] += click
    return out
