"""Keys, scales, Roman-numeral chords and voicings for the procedural generator."""

from __future__ import annotations

import re

import numpy as np

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Conventional spelling of the 24 keys (fewest accidentals; F# major, C# / G# / D# minor... as usually written).
_MAJOR_SPELLING = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_SPELLING = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}

_DEGREE = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_ROMAN = re.compile(r"^(b|#)?(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(maj7|7|dim|sus4|sus2)?$")


def key_name(tonic: int, mode: str) -> str:
    """``key_name(4, "minor") -> "E minor"``."""
    names = _MAJOR_SPELLING if mode == "major" else _MINOR_SPELLING
    return f"{names[tonic % 12]} {mode}"


def tonic_name(tonic: int, mode: str) -> str:
    return key_name(tonic, mode).split()[0]


def parse_pitch_class(name: str) -> int:
    """``"Eb" -> 3``, ``"F#" -> 6``."""
    base = "C D EF G A B".index(name[0].upper())
    return (base + name[1:].count("#") - name[1:].count("b") - name[1:].count("-")) % 12


def chord(symbol: str) -> tuple[int, tuple[int, ...]]:
    """Roman numeral relative to the tonic -> (root semitones above tonic, chord intervals above the root).

    Uppercase is major, lowercase minor; ``7`` adds a dominant (upper) or minor (lower) seventh,
    ``maj7`` a major seventh, ``dim`` makes a diminished triad; ``b``/``#`` alter the root.
    """
    m = _ROMAN.match(symbol)
    if m is None:
        raise ValueError(f"bad chord symbol {symbol!r}")
    accidental, numeral, suffix = m.groups()
    root = _DEGREE[numeral.upper()] + {"b": -1, "#": 1, None: 0}[accidental]
    major = numeral.isupper()
    intervals: list[int] = [0, 4 if major else 3, 7]
    if suffix == "dim":
        intervals = [0, 3, 6]
    elif suffix == "sus4":
        intervals = [0, 5, 7]
    elif suffix == "sus2":
        intervals = [0, 2, 7]
    elif suffix == "7":
        intervals.append(10)
    elif suffix == "maj7":
        intervals.append(11)
    return root % 12, tuple(intervals)


def nearest_voicing(pcs: tuple[int, ...], previous: tuple[int, ...] | None, *, low: int, high: int) -> tuple[int, ...]:
    """Close voicing of the pitch classes inside [low, high] that moves least from ``previous``."""
    candidates: list[tuple[int, ...]] = []
    n = len(pcs)
    for inversion in range(n):
        order = pcs[inversion:] + pcs[:inversion]
        for base in range(low, high + 1):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                nxt = notes[-1] + 1
                while nxt % 12 != pc:
                    nxt += 1
                notes.append(nxt)
            if notes[-1] <= high:
                candidates.append(tuple(notes))
    if not candidates:
        return tuple(low + (pc - low) % 12 for pc in pcs)
    if previous is None:
        centre = (low + high) / 2
        return min(candidates, key=lambda c: (abs(float(np.mean(c)) - centre), c))
    prev_mean = float(np.mean(previous))
    return min(candidates, key=lambda c: (abs(float(np.mean(c)) - prev_mean), c))


def scale_pitches(tonic: int, mode: str, *, low: int, high: int) -> list[int]:
    """All MIDI pitches of the key's scale inside [low, high], ascending."""
    pcs = {(tonic + s) % 12 for s in SCALES[mode]}
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def place(pc: int, *, low: int, high: int, near: float) -> int:
    """The pitch of class ``pc`` inside [low, high] closest to ``near``."""
    options = [p for p in range(low, high + 1) if p % 12 == pc % 12]
    return min(options, key=lambda p: (abs(p - near), p))
