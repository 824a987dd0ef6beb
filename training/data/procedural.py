"""Procedural songs: a style's progression, bass line, comping, melody and drums as notes.

``generate_song(rng)`` picks everything at random (style, meter, tempo 60-180 BPM, one of
the 24 keys, clip length in whole bars); keyword arguments pin any of it.
"""

from __future__ import annotations

import numpy as np

from training.data import theory
from training.data.styles import STYLES, VELOCITY, VOICES, Style
from training.data.symbolic import Meter, Note, Part, SymbolicSong

CRASH = 49
Chord = tuple[int, tuple[int, ...]]  # (root semitones above the tonic, intervals above the root)
_BASS_RANGE = (28, 50)
_COMP_RANGE = {"pad": (48, 72), "strings": (50, 76), "organ": (50, 74)}
_MELODY_RANGE = {"flute": (65, 91), "bell": (72, 96), "lead_synth": (62, 86), "saw_lead": (60, 84)}

# Bass templates for 16-step 4/4 bars: (step, length, interval); other meters use "groups".
_BASS_TEMPLATES: dict[str, tuple[tuple[int, int, str], ...]] = {
    "funk": ((0, 2, "R"), (3, 1, "8"), (6, 1, "R"), (7, 1, "5"), (10, 2, "R"), (13, 1, "7"), (14, 2, "8")),
    "offbeat": ((2, 2, "R"), (6, 2, "R"), (10, 2, "8"), (14, 2, "R")),
    "reggae": ((0, 3, "R"), (4, 2, "R"), (6, 2, "5"), (10, 2, "R"), (12, 3, "3")),
    "bossa": ((0, 3, "R"), (3, 1, "5"), (4, 4, "5"), (8, 3, "R"), (11, 1, "5"), (12, 4, "5")),
}
_COMP_TEMPLATES: dict[str, tuple[tuple[int, int], ...]] = {
    "stabs": ((0, 1), (3, 1), (6, 2), (10, 1), (12, 2)),
    "offbeat": ((2, 2), (6, 2), (10, 2), (14, 2)),
    "skank": ((4, 2), (12, 2)),
    "charleston": ((0, 3), (6, 2)),
    "bossa": ((0, 2), (3, 2), (6, 2), (10, 2), (12, 2)),
}


def generate_song(
    rng: np.random.Generator,
    *,
    style: str | None = None,
    meter: Meter | None = None,
    bpm: float | None = None,
    tonic: int | None = None,
    mode: str | None = None,
    clip_seconds: tuple[float, float] = (8.0, 16.0),
) -> SymbolicSong:
    """A random procedural clip of whole bars; unspecified choices come from ``rng``."""
    st = STYLES[style] if style is not None else STYLES[str(rng.choice(sorted(STYLES)))]
    if meter is None:
        num, den = str(rng.choice(st.meters)).split("/")
        meter = Meter(int(num), int(den))
    bpm = float(bpm if bpm is not None else int(rng.integers(max(60, st.bpm[0]), min(180, st.bpm[1]) + 1)))
    tonic = int(tonic if tonic is not None else rng.integers(12))
    mode = mode if mode is not None else str(rng.choice(st.modes))
    n_bars = bars_for(meter.bar_seconds(bpm), clip_seconds, rng)
    prog = str(rng.choice(st.progressions[mode])).split()
    chord_bars = int(rng.choice(st.chord_bars))
    chords = [theory.chord(prog[(b // chord_bars) % len(prog)]) for b in range(n_bars + 1)]

    instruments = {
        "bass": str(rng.choice(st.bass_instruments)),
        "drums": str(rng.choice(st.kits)),
        "instrument": str(rng.choice(st.instruments)),
        "melody": str(rng.choice(st.melody_instruments)),
    }
    clock = Clock(meter, bpm, st.swing)
    side = float(rng.choice([-1.0, 1.0]))
    parts = (
        Part("bass", instruments["bass"], tuple(_bass(rng, st, meter, clock, chords, tonic, n_bars)), 0.0),
        Part("drums", instruments["drums"], tuple(drum_notes(rng, st, meter, clock, n_bars)), 0.0),
        Part(
            "instrument",
            instruments["instrument"],
            tuple(_comp(rng, st, meter, clock, chords, tonic, n_bars, instruments["instrument"])),
            side * float(rng.uniform(0.15, 0.35)),
        ),
        Part(
            "melody",
            instruments["melody"],
            tuple(_melody(rng, st, meter, clock, chords, tonic, mode, n_bars, instruments["melody"])),
            -side * float(rng.uniform(0.05, 0.2)),
        ),
    )
    return SymbolicSong(
        parts=parts,
        bpm=bpm,
        tonic=tonic,
        mode=mode,
        meter=meter,
        n_bars=n_bars,
        style=st.name,
        source="procedural",
        extra={"progression": " ".join(prog)},
    )


def bars_for(bar_seconds: float, clip_seconds: tuple[float, float], rng: np.random.Generator) -> int:
    """A whole number of bars whose length falls inside ``clip_seconds`` (the closest when none does)."""
    lo, hi = clip_seconds
    feasible = [n for n in range(1, 257) if lo - 1e-9 <= n * bar_seconds <= hi + 1e-9]
    if feasible:
        return int(rng.choice(feasible))
    return max(1, int(round(hi / bar_seconds)))


class Clock:
    """Sixteenth-note step (sixteenth) positions to seconds, with swing on the off-beat eighths of x/4 meters."""

    def __init__(self, meter: Meter, bpm: float, swing: float) -> None:
        self.step = 60.0 / bpm / 4.0
        self.bar = meter.steps * self.step
        self.swing = swing if meter.denominator == 4 else 0.5

    def time(self, bar: int, step: float) -> float:
        quarter, within = divmod(step, 4)
        s = self.swing
        if within <= 2:
            warped = within * 2 * s
        else:
            warped = 4 * s + (within - 2) * 2 * (1 - s)
        return bar * self.bar + (quarter * 4 + warped) * self.step


def _jitter(rng: np.random.Generator, velocity: int, spread: int = 6) -> int:
    return int(np.clip(velocity + rng.integers(-spread, spread + 1), 1, 127))


def drum_notes(rng: np.random.Generator, st: Style, meter: Meter, clock: Clock, n_bars: int) -> list[Note]:
    """The style's groove for ``meter`` over ``n_bars`` bars (velocity jitter; a crash on the first downbeat at times)."""
    groove = st.groove(meter)
    notes: list[Note] = []
    for bar in range(n_bars):
        for letter, pattern in groove.items():
            for step, ch in enumerate(pattern):
                if ch != ".":
                    velocity = _jitter(rng, VELOCITY[ch]) if step else VELOCITY[ch]
                    notes.append(Note(clock.time(bar, step), 0.1, VOICES[letter], velocity))
    if st.name in ("rock", "pop", "prog rock", "fusion", "ballad") and rng.random() < 0.35:
        notes.append(Note(0.0, 0.1, CRASH, 100))
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


def _interval(name: str, intervals: tuple[int, ...]) -> int:
    if name == "R":
        return 0
    if name == "8":
        return 12
    if name == "5":
        return 7
    if name == "3":
        return intervals[1]
    return intervals[3] if len(intervals) > 3 else 12  # "7"


def _bass(
    rng: np.random.Generator, st: Style, meter: Meter, clock: Clock, chords: list[Chord], tonic: int, n_bars: int
) -> list[Note]:
    notes: list[Note] = []
    prev = 36.0
    for bar in range(n_bars):
        root_pc, intervals = chords[bar]
        root = theory.place(tonic + root_pc, low=_BASS_RANGE[0], high=_BASS_RANGE[0] + 11, near=prev)
        prev = root
        events = _bass_events(rng, st, meter, chords, bar, tonic, root)
        for step, length, pitch in events:
            dur = length * clock.step * 0.92
            notes.append(Note(clock.time(bar, step), dur, int(pitch), _jitter(rng, 96)))
    return notes


def _bass_events(
    rng: np.random.Generator, st: Style, meter: Meter, chords: list[Chord], bar: int, tonic: int, root: int
) -> list[tuple[int, int, int]]:
    _, intervals = chords[bar]
    kind = st.bass
    steps = meter.steps
    if kind in _BASS_TEMPLATES and steps == 16:
        return [(s, n, root + _interval(iv, intervals)) for s, n, iv in _BASS_TEMPLATES[kind]]
    if kind == "eighths":
        return [(s, 2, root + (12 if rng.random() < 0.15 else 0)) for s in range(0, steps, 2)]
    if kind == "kick":
        kicks = [i for i, c in enumerate(st.groove(meter).get("K", "x")) if c != "."] or [0]
        ends = kicks[1:] + [steps]
        return [(s, min(e - s, 8), root) for s, e in zip(kicks, ends, strict=True)]
    if kind == "walking":
        beats = list(range(0, steps, 4))
        next_root = root + ((chords[bar + 1][0] - chords[bar][0]) % 12)
        if next_root - root > 6:
            next_root -= 12
        out = [(0, 4, root)]
        tones = [root + i for i in intervals] + [root + 12]
        for b in beats[1:-1]:
            out.append((b, 4, int(rng.choice(tones))))
        if len(beats) > 1:
            out.append((beats[-1], 4, next_root + int(rng.choice([-1, 1]))))
        return out
    # "roots" and "groups": a note per beat group, root first then fifth / octave
    out, pos = [], 0
    for i, g in enumerate(meter.groups):
        iv = 0 if i % 2 == 0 else (7 if rng.random() < 0.6 else 12)
        if kind == "roots" and i % 2 == 1 and rng.random() < 0.4:
            iv = 0
        out.append((pos, g, root + iv))
        pos += g
    return out


def _comp(
    rng: np.random.Generator,
    st: Style,
    meter: Meter,
    clock: Clock,
    chords: list[Chord],
    tonic: int,
    n_bars: int,
    instrument: str,
) -> list[Note]:
    low, high = _COMP_RANGE.get(instrument, (52, 76))
    notes: list[Note] = []
    previous: tuple[int, ...] | None = None
    steps = meter.steps
    for bar in range(n_bars):
        root_pc, intervals = chords[bar]
        pcs = tuple((tonic + root_pc + i) % 12 for i in intervals)
        voicing = theory.nearest_voicing(pcs, previous, low=low, high=high)
        previous = voicing
        kind = "sustain" if instrument in ("pad", "strings") else st.comp
        if kind == "arpeggio":
            order = list(voicing) + list(voicing[-2:0:-1])
            for k, s in enumerate(range(0, steps, 2)):
                notes.append(Note(clock.time(bar, s), 4 * clock.step, order[k % len(order)], _jitter(rng, 70)))
            continue
        if kind == "sustain":
            hits = [(0, steps)]
        elif kind == "strum":
            hits = [(s, 2) for s in range(0, steps, 2)]
        elif kind == "quarters":
            hits = [(s, 4) for s in range(0, steps, 4)]
        elif kind == "waltz" and steps == 12:
            hits = [(4, 3), (8, 3)]
        elif kind in _COMP_TEMPLATES and steps == 16:
            hits = list(_COMP_TEMPLATES[kind])
        else:
            pos, hits = 0, []
            for g in meter.groups:
                hits.append((pos, max(1, g - 1)))
                pos += g
        for s, n in hits:
            accent = 12 if s % 4 == 0 else 0
            onset = clock.time(bar, s)
            for k, p in enumerate(voicing):
                delay = 0.008 * k if instrument in ("guitar", "acoustic_guitar") else 0.0  # strum spread
                notes.append(Note(onset + delay, n * clock.step * 0.95 - delay, p, _jitter(rng, 64 + accent)))
    return notes


def _melody(
    rng: np.random.Generator,
    st: Style,
    meter: Meter,
    clock: Clock,
    chords: list[Chord],
    tonic: int,
    mode: str,
    n_bars: int,
    instrument: str,
) -> list[Note]:
    low, high = _MELODY_RANGE.get(instrument, (62, 86))
    scale = theory.scale_pitches(tonic, mode, low=low, high=high)
    steps = meter.steps
    strong = set()
    pos = 0
    for g in meter.groups:
        strong.add(pos)
        pos += g
    grid = 1 if st.name in ("funk", "fusion") else 2
    motif: list[list[int]] = []
    for _ in range(2):
        onsets = [
            s
            for s in range(0, steps, grid)
            if rng.random() < (min(0.95, st.melody_density + 0.35) if s in strong else st.melody_density * 0.7)
        ]
        motif.append(onsets or [0])
    idx = len(scale) // 2
    notes: list[Note] = []
    for bar in range(n_bars):
        onsets = motif[bar % 2]
        root_pc, intervals = chords[bar]
        chord_pcs = {(tonic + root_pc + i) % 12 for i in intervals}
        ends = onsets[1:] + [steps]
        for s, e in zip(onsets, ends, strict=True):
            move = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3], p=[0.1, 0.2, 0.1, 0.05, 0.2, 0.1, 0.1, 0.08, 0.07]))
            idx = int(np.clip(idx + move, 0, len(scale) - 1))
            if idx in (0, len(scale) - 1):
                idx = len(scale) // 2 + int(rng.integers(-2, 3))
            if s in strong:  # strong beats land on a chord tone
                cands = [i for i, p in enumerate(scale) if p % 12 in chord_pcs]
                if cands:
                    idx = min(cands, key=lambda i: (abs(i - idx), i))
            length = min(e - s, 8) * clock.step * float(rng.uniform(0.7, 0.95))
            vel = _jitter(rng, 96 if s in strong else 84)
            notes.append(Note(clock.time(bar, s), length, scale[idx], vel))
    return notes
