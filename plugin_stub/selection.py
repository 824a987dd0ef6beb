"""What the user selected in the DAW: tracks (audio at timeline positions) and a region."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from plugin_stub.errors import StubError
from plugin_stub.transport import HostTransport


@dataclass
class Track:
    """One track's audio, ``audio: [C, N]`` float32 at the host rate, whose first frame plays at ``start_sample``.

    ``stem`` says which stem the track stands for when it is sent as context (compose, continue, inpaint);
    a track without a stem is only heard in the mixdown.
    """

    name: str
    audio: np.ndarray
    start_sample: int
    stem: str | None = None
    gain: float = 1.0

    @property
    def end_sample(self) -> int:
        return self.start_sample + int(self.audio.shape[1])

    def render(self, start: int, end: int) -> np.ndarray:
        """The track as heard over host samples ``[start, end)``: ``[2, end - start]`` (silence where it has none)."""
        out = np.zeros((2, max(0, end - start)), dtype=np.float32)
        lo, hi = max(start, self.start_sample), min(end, self.end_sample)
        if hi > lo:
            src = self.audio[:, lo - self.start_sample : hi - self.start_sample] * np.float32(self.gain)
            out[:, lo - start : hi - start] = src if src.shape[0] == 2 else np.repeat(src[:1], 2, axis=0)
        return out


@dataclass(frozen=True)
class Region:
    """The selected time range ``[start_ppq, end_ppq)``, and its exact host samples under a transport."""

    start_ppq: Fraction
    end_ppq: Fraction

    def samples(self, transport: HostTransport) -> tuple[int, int]:
        return transport.sample_at(self.start_ppq), transport.sample_at(self.end_ppq)

    def bars(self, transport: HostTransport) -> tuple[Fraction, Fraction]:
        """1-based (start bar, end bar), end exclusive; fractional when the region is not on bar lines."""
        ts = transport.time_signature
        return ts.ppq_to_bar(self.start_ppq), ts.ppq_to_bar(self.end_ppq)

    def check(self, transport: HostTransport, *, song_end_ppq: Fraction | None = None) -> tuple[int, int]:
        """Refuse an empty, reversed or out-of-song region; return its ``(start_sample, end_sample)``."""
        if self.start_ppq < 0:
            raise StubError(f"the region starts at ppq {self.start_ppq}, before the project start")
        if self.end_ppq <= self.start_ppq:
            what = "has zero length" if self.end_ppq == self.start_ppq else "ends before it starts"
            raise StubError(f"the region {what} (ppq {self.start_ppq} to {self.end_ppq}): select a later end")
        start, end = self.samples(transport)
        if end <= start:
            raise StubError(f"the region ppq {self.start_ppq}-{self.end_ppq} is shorter than one sample")
        if song_end_ppq is not None and self.end_ppq > song_end_ppq:
            ts = transport.time_signature
            raise StubError(f"the region ends at bar {_bar(ts.ppq_to_bar(self.end_ppq))}, past the end of the song "
                            f"(bar {_bar(ts.ppq_to_bar(song_end_ppq))}): shorten the region or raise length_bars")
        return start, end


@dataclass
class Selection:
    """Tracks and the region; :meth:`bounce` renders the tracks of one stem the way a DAW bounces a bus."""

    tracks: list[Track]
    region: Region

    def stems(self) -> list[str]:
        """Stems the tracks stand for, in first-seen order."""
        seen: list[str] = []
        for t in self.tracks:
            if t.stem and t.stem not in seen:
                seen.append(t.stem)
        return seen

    def bounce(self, stem: str, start: int, end: int) -> np.ndarray:
        """Sum of the tracks standing for ``stem`` over host samples ``[start, end)``: ``[2, end - start]``."""
        out = np.zeros((2, end - start), dtype=np.float32)
        for t in self.tracks:
            if t.stem == stem:
                out += t.render(start, end)
        return out


def _bar(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
