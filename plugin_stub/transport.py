"""Host transport: tempo map, time signature, sample rate, playhead, loop and the offline-render flag.

All positions are exact rationals (``fractions.Fraction``): PPQ in quarter notes from the project start, tempo
in quarter notes per minute, time in seconds. One rounding rule turns a time into a host sample, the same one
the server uses: ``floor(seconds * rate + 1/2)`` (round half up of the exact rational). This module shares no
code with the server on purpose: it is the DAW's own arithmetic, and the tests check that both agree.

Values that travel over the wire as doubles (tempo, PPQ) are read with :func:`wire_exact`, so the stub computes
with exactly the number the server will see (``400/3`` becomes the double 133.33333333333334, exactly).
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

from plugin_stub.errors import StubError

HOST_RATES = (44100, 48000, 88200, 96000)
MIN_BPM, MAX_BPM = Fraction(20), Fraction(400)

Number = int | float | str | Fraction


def exact(value: object, name: str) -> Fraction:
    """An exact rational from an int, a Fraction, a float (through its shortest repr) or a string ("97.5", "195/2")."""
    if isinstance(value, bool) or value is None:
        raise StubError(f"{name} must be a number, got {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StubError(f"{name} must be a finite number, got {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        try:
            return Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise StubError(f"{name} must be a number like 97.5 or \"195/2\", got {value!r}") from None
    raise StubError(f"{name} must be a number, got {type(value).__name__}")


def wire_exact(value: object, name: str) -> Fraction:
    """Like :func:`exact`, then rounded to the nearest double: the value both sides see after the wire."""
    return Fraction(repr(float(exact(value, name))))


def seconds_to_sample(seconds: Fraction, sample_rate: int) -> int:
    """The one rounding rule: host sample ``floor(seconds * rate + 1/2)``."""
    return math.floor(Fraction(seconds) * sample_rate + Fraction(1, 2))


def check_rate(rate: object, name: str = "sample_rate") -> int:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Integral) or int(rate) not in HOST_RATES:
        raise StubError(f"{name} {rate!r} is not a host rate the bridge supports: use one of "
                        f"{', '.join(map(str, HOST_RATES))}")
    return int(rate)


@dataclass(frozen=True)
class TimeSignature:
    """``numerator/denominator``; one time signature for the whole song (as the bridge assumes)."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        num, den = self.numerator, self.denominator
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 32:
            raise StubError(f"time signature numerator {num!r} must be an integer 1-32")
        if isinstance(den, bool) or not isinstance(den, int) or den not in (1, 2, 4, 8, 16, 32):
            raise StubError(f"time signature denominator {den!r} must be 1, 2, 4, 8, 16 or 32")

    @property
    def quarters_per_bar(self) -> Fraction:
        return Fraction(4 * self.numerator, self.denominator)

    @property
    def quarters_per_beat(self) -> Fraction:
        """Length of the beat unit (the denominator's note) in quarter notes."""
        return Fraction(4, self.denominator)

    def bar_to_ppq(self, bar: Number) -> Fraction:
        """PPQ where 1-based ``bar`` starts (bar 1 at PPQ 0; fractional bars allowed)."""
        b = exact(bar, "bar")
        if b < 1:
            raise StubError(f"bars are numbered from 1, got bar {b}")
        return (b - 1) * self.quarters_per_bar

    def ppq_to_bar(self, ppq: Fraction) -> Fraction:
        """1-based bar number (possibly fractional) at ``ppq``."""
        return 1 + Fraction(ppq) / self.quarters_per_bar


@dataclass(frozen=True)
class TempoChange:
    """From ``ppq`` on, the tempo is ``bpm`` quarter notes per minute (a step; no ramps)."""

    ppq: Fraction
    bpm: Fraction


@dataclass(frozen=True)
class TempoMap:
    """Step tempo map; ``changes`` sorted by strictly increasing PPQ, the first at PPQ 0."""

    changes: tuple[TempoChange, ...]
    _seconds: tuple[Fraction, ...] = field(init=False, repr=False, compare=False)  # time of each change

    def __post_init__(self) -> None:
        if not self.changes:
            raise StubError("the tempo map is empty: give a tempo")
        if self.changes[0].ppq != 0:
            raise StubError(f"the tempo map must start at ppq 0, not {self.changes[0].ppq}")
        for c in self.changes:
            if not MIN_BPM <= c.bpm <= MAX_BPM:
                raise StubError(f"tempo {float(c.bpm):g} BPM at ppq {c.ppq} is outside 20-400 BPM")
        for a, b in pairwise(self.changes):
            if b.ppq <= a.ppq:
                raise StubError(f"tempo changes must be in increasing ppq order: {a.ppq} then {b.ppq}")
        seconds = [Fraction(0)]
        for a, b in pairwise(self.changes):
            seconds.append(seconds[-1] + (b.ppq - a.ppq) * 60 / a.bpm)
        object.__setattr__(self, "_seconds", tuple(seconds))

    @classmethod
    def constant(cls, bpm: Number) -> TempoMap:
        return cls((TempoChange(Fraction(0), wire_exact(bpm, "tempo")),))

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[Number, Number]]) -> TempoMap:
        """``[(ppq, bpm), ...]``, read as the wire will carry them (see :func:`wire_exact`)."""
        return cls(tuple(TempoChange(wire_exact(p, "tempo change ppq"), wire_exact(b, "tempo")) for p, b in pairs))

    def _segment(self, ppq: Fraction) -> int:
        return bisect.bisect_right([c.ppq for c in self.changes], ppq) - 1

    def seconds_at(self, ppq: Number) -> Fraction:
        """Exact seconds from the project start to ``ppq`` (>= 0)."""
        q = exact(ppq, "ppq")
        if q < 0:
            raise StubError(f"ppq {q} is before the project start")
        i = self._segment(q)
        return self._seconds[i] + (q - self.changes[i].ppq) * 60 / self.changes[i].bpm

    def ppq_at_seconds(self, seconds: Fraction) -> Fraction:
        """Exact inverse of :meth:`seconds_at`."""
        s = Fraction(seconds)
        if s < 0:
            raise StubError(f"time {float(s):g} s is before the project start")
        i = bisect.bisect_right(self._seconds, s) - 1
        return self.changes[i].ppq + (s - self._seconds[i]) * self.changes[i].bpm / 60

    def sample_at(self, ppq: Number, sample_rate: int) -> int:
        """Host sample of ``ppq``: ``floor(seconds_at(ppq) * rate + 1/2)``."""
        return seconds_to_sample(self.seconds_at(ppq), sample_rate)

    def ppq_at_sample(self, sample: int, sample_rate: int) -> Fraction:
        """Exact PPQ of the instant host sample ``sample`` plays."""
        return self.ppq_at_seconds(Fraction(sample, sample_rate))

    def bpm_at(self, ppq: Number) -> Fraction:
        return self.changes[self._segment(exact(ppq, "ppq"))].bpm

    def grid(self, start_ppq: Fraction, end_ppq: Fraction, step: Fraction) -> Iterator[Fraction]:
        """PPQ positions ``k * step`` (integer k) inside ``[start_ppq, end_ppq)``."""
        k = math.ceil(start_ppq / step)
        while k * step < end_ppq:
            yield k * step
            k += 1


@dataclass
class HostTransport:
    """What a DAW tells a plugin: tempo map, meter, rate, playhead (PPQ and samples), loop, play and offline flags.

    The playhead is kept both as an exact PPQ and as a host sample: setting one computes the other (a PPQ rounds
    to its sample; a sample maps to the exact PPQ at that instant).
    """

    tempo_map: TempoMap
    time_signature: TimeSignature
    sample_rate: int
    playing: bool = False
    offline: bool = False  # the host renders faster than real time (bounce/export)
    loop: tuple[int, int] | None = None  # [start, end) in host samples
    _sample: int = field(default=0, init=False)
    _ppq: Fraction = field(default=Fraction(0), init=False)

    def __post_init__(self) -> None:
        self.sample_rate = check_rate(self.sample_rate)
        if self.loop is not None:
            self.set_loop(*self.loop)

    # ------------------------------------------------------------------ conversions

    def sample_at(self, ppq: Number) -> int:
        return self.tempo_map.sample_at(ppq, self.sample_rate)

    def ppq_at(self, sample: int) -> Fraction:
        return self.tempo_map.ppq_at_sample(sample, self.sample_rate)

    def bar_sample(self, bar: Number) -> int:
        return self.sample_at(self.time_signature.bar_to_ppq(bar))

    # ------------------------------------------------------------------ playhead

    @property
    def playhead_sample(self) -> int:
        return self._sample

    @property
    def playhead_ppq(self) -> Fraction:
        return self._ppq

    def locate_ppq(self, ppq: Number) -> None:
        q = exact(ppq, "playhead ppq")
        self._sample, self._ppq = self.sample_at(q), q

    def locate_sample(self, sample: int) -> None:
        if sample < 0:
            raise StubError(f"playhead sample {sample} is before the project start")
        self._sample, self._ppq = int(sample), self.ppq_at(int(sample))

    def set_loop(self, start: int, end: int) -> None:
        if not 0 <= start < end:
            raise StubError(f"loop {start}-{end} is empty or negative: the loop end must be after its start")
        self.loop = (int(start), int(end))

    def block(self, frames: int) -> list[tuple[int, int]]:
        """Advance the playhead by ``frames`` samples; returns the ``(start_sample, frames)`` pieces played.

        A block that crosses the loop end is split there and continues at the loop start, as hosts do.
        """
        pieces: list[tuple[int, int]] = []
        left = frames
        while left > 0:
            pos = self._sample
            n = left
            if self.loop is not None and pos < self.loop[1]:
                n = min(n, self.loop[1] - pos)
            pieces.append((pos, n))
            left -= n
            pos += n
            if self.loop is not None and pos == self.loop[1]:
                pos = self.loop[0]
            self.locate_sample(pos)
        return pieces
