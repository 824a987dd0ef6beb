"""The symbolic intermediate form both renderers take: notes in seconds, one part per stem.

A :class:`SymbolicSong` is what the procedural generator and the chorale reader produce
and what :mod:`training.data.render_builtin` and :mod:`training.data.render_fluidsynth`
turn into audio. Times are seconds from the clip start (a downbeat); ``bpm`` counts
quarter notes per minute in every meter (the DAW convention, also for 6/8 and 7/8).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STEMS: tuple[str, ...] = ("bass", "drums", "instrument", "melody")
"""Stem order everywhere in the data package; the mix comes fifth where it is included."""


@dataclass(frozen=True)
class Note:
    """One note: onset and duration in seconds, MIDI pitch (GM drum key on the drum part), velocity 1-127."""

    onset: float
    duration: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class Part:
    """The notes of one stem, played by one instrument (a key of :data:`training.data.instruments.INSTRUMENTS`)."""

    stem: str
    instrument: str
    notes: tuple[Note, ...]
    pan: float = 0.0  # -1 (left) .. 1 (right)


@dataclass(frozen=True)
class Meter:
    """A time signature; positions inside a bar are counted in sixteenth notes ("steps")."""

    numerator: int
    denominator: int

    @property
    def steps(self) -> int:
        """Sixteenth notes per bar."""
        return self.numerator * 16 // self.denominator

    @property
    def quarters(self) -> float:
        """Quarter notes per bar."""
        return self.numerator * 4 / self.denominator

    @property
    def groups(self) -> tuple[int, ...]:
        """Beat groups in steps: 4/4 -> (4, 4, 4, 4), 6/8 -> (6, 6), 5/4 -> (4,)*5, 7/8 -> (4, 4, 6)."""
        if self.denominator == 8:
            eighths = self.numerator
            if eighths % 3 == 0:
                return (6,) * (eighths // 3)
            twos = (eighths - 3) // 2 if eighths % 2 else eighths // 2
            return (4,) * twos + ((6,) if eighths % 2 else ())
        return (16 // self.denominator,) * self.numerator

    def bar_seconds(self, bpm: float) -> float:
        return self.quarters * 60.0 / bpm

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class SymbolicSong:
    """A clip of whole bars starting on a downbeat, one :class:`Part` per stem in :data:`STEMS` order."""

    parts: tuple[Part, ...]
    bpm: float
    tonic: int  # pitch class 0-11 (C = 0)
    mode: str  # "major" | "minor"
    meter: Meter
    n_bars: int
    style: str
    source: str  # "procedural" or "bach-chorale:<corpus name>"
    extra: dict[str, str] = field(default_factory=dict)  # free-form facts for meta.json (e.g. the groove)

    @property
    def duration(self) -> float:
        """Clip length in seconds (``n_bars`` whole bars)."""
        return self.n_bars * self.meter.bar_seconds(self.bpm)

    def part(self, stem: str) -> Part:
        for part in self.parts:
            if part.stem == stem:
                return part
        raise KeyError(stem)

    @property
    def instruments(self) -> dict[str, str]:
        return {part.stem: part.instrument for part in self.parts}
