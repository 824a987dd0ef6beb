"""Bach chorales from music21's bundled corpus as multi-track material.

Soprano -> melody, alto + tenor -> instrument, bass -> bass, plus drums in a style that fits
the chorale's meter. Clips are whole bars from a downbeat (pickup bars are never a start),
transposed to a random key. music21 is imported only here; files are parsed from source
(``forceSource=True``: music21's pickle cache is neither read nor written).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from jen_core.errors import JenError
from training.data.procedural import Clock, bars_for, drum_notes
from training.data.styles import CHORALE_GROOVES, STYLES
from training.data.symbolic import Meter, Note, Part, SymbolicSong

_VoiceNotes = tuple[tuple[float, float, int], ...]  # (offset, duration) in quarter notes, MIDI pitch


@dataclass(frozen=True)
class Chorale:
    """One parsed four-voice chorale; offsets in quarter notes from the score start."""

    name: str
    voices: tuple[_VoiceNotes, _VoiceNotes, _VoiceNotes, _VoiceNotes]  # soprano, alto, tenor, bass
    downbeats: tuple[float, ...]  # offsets of full bars, ascending
    meter: Meter
    tonic: int
    mode: str


def _music21():  # noqa: ANN202 - the module
    try:
        import music21
    except ModuleNotFoundError:
        raise JenError(
            "chorale material needs music21: pip install 'music21>=9' (or use --chorale-fraction 0)"
        ) from None
    return music21


@functools.lru_cache(maxsize=1)
def chorale_names() -> tuple[str, ...]:
    """Corpus names of the four-voice Bach chorales (Riemenschneider numbering), e.g. ``"bach/bwv269"``."""
    m21 = _music21()
    return tuple(str(n) for n in m21.corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename"))


@functools.lru_cache(maxsize=512)
def load_chorale(name: str) -> Chorale | None:
    """Parse a chorale; None when it is not plainly four voices in one meter."""
    m21 = _music21()
    score = m21.corpus.parse(name, forceSource=True)
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    sigs = {(ts.numerator, ts.denominator) for ts in score.recurse().getElementsByClass("TimeSignature")}
    if len(sigs) != 1:
        return None
    num, den = sigs.pop()
    meter = Meter(num, den)
    if str(meter) not in CHORALE_GROOVES:
        return None
    voices = []
    for part in parts:
        notes = []
        for n in part.stripTies().flatten().notes:
            pitch = max(p.midi for p in n.pitches)
            notes.append((float(n.offset), float(n.quarterLength), int(pitch)))
        voices.append(tuple(notes))
    downbeats = tuple(
        float(m.offset)
        for m in parts[0].getElementsByClass("Measure")
        if abs(float(m.duration.quarterLength) - meter.quarters) < 1e-6
    )
    key = score.analyze("key")
    mode = "minor" if key.mode == "minor" else "major"
    return Chorale(name, (voices[0], voices[1], voices[2], voices[3]), downbeats, meter, key.tonic.pitchClass, mode)


def _runs(downbeats: tuple[float, ...], bar: float, n_bars: int) -> list[float]:
    """Start offsets from which ``n_bars`` consecutive full bars follow."""
    starts = []
    for i, d in enumerate(downbeats):
        seq = downbeats[i : i + n_bars]
        if len(seq) == n_bars and all(abs(seq[k] - (d + k * bar)) < 1e-6 for k in range(n_bars)):
            starts.append(d)
    return starts


def _clip(voice: _VoiceNotes, start: float, end: float, spq: float, shift: int, velocity: int) -> list[Note]:
    out = []
    for off, dur, pitch in voice:
        a, b = max(off, start), min(off + dur, end)
        if b - a > 1e-6:
            out.append(Note((a - start) * spq, (b - a) * spq * 0.95, pitch + shift, velocity))
    return out


def chorale_song(
    rng: np.random.Generator,
    *,
    name: str | None = None,
    bpm: float | None = None,
    clip_seconds: tuple[float, float] = (8.0, 16.0),
) -> SymbolicSong:
    """A clip of a random (or the named) chorale as a :class:`SymbolicSong` with added drums."""
    names = [name] if name else [chorale_names()[i] for i in rng.permutation(len(chorale_names()))[:40]]
    bpm = float(bpm if bpm is not None else int(rng.integers(60, 101)))
    for candidate in names:
        ch = load_chorale(candidate)
        if ch is None:
            continue
        n_bars = bars_for(ch.meter.bar_seconds(bpm), clip_seconds, rng)
        starts = _runs(ch.downbeats, ch.meter.quarters, n_bars)
        if not starts:
            continue
        start = float(starts[int(rng.integers(len(starts)))])
        return _arrange(rng, ch, start=start, n_bars=n_bars, bpm=bpm)
    raise JenError(f"no chorale clip of {clip_seconds[0]}-{clip_seconds[1]} s at {bpm:g} BPM among {names[:3]}...")


def _arrange(rng: np.random.Generator, ch: Chorale, *, start: float, n_bars: int, bpm: float) -> SymbolicSong:
    shift = int(rng.integers(-6, 6))
    end = start + n_bars * ch.meter.quarters
    spq = 60.0 / bpm
    soprano, alto, tenor, bass = ch.voices
    groove = str(rng.choice(CHORALE_GROOVES[str(ch.meter)]))
    st = STYLES[groove]
    side = float(rng.choice([-1.0, 1.0]))
    inner = sorted(
        _clip(alto, start, end, spq, shift, 70) + _clip(tenor, start, end, spq, shift, 66),
        key=lambda n: (n.onset, n.pitch),
    )
    parts = (
        Part(
            "bass", str(rng.choice(["electric_bass", "upright_bass"])), tuple(_clip(bass, start, end, spq, shift, 92))
        ),
        Part(
            "drums", str(rng.choice(st.kits)), tuple(drum_notes(rng, st, ch.meter, Clock(ch.meter, bpm, 0.5), n_bars))
        ),
        Part(
            "instrument",
            str(rng.choice(["organ", "strings", "piano", "pad", "electric_piano"])),
            tuple(inner),
            side * float(rng.uniform(0.15, 0.35)),
        ),
        Part(
            "melody",
            str(rng.choice(["flute", "lead_synth", "bell"])),
            tuple(_clip(soprano, start, end, spq, shift, 92)),
            -side * float(rng.uniform(0.05, 0.2)),
        ),
    )
    short = ch.name.split("/")[-1]
    return SymbolicSong(
        parts=parts,
        bpm=bpm,
        tonic=(ch.tonic + shift) % 12,
        mode=ch.mode,
        meter=ch.meter,
        n_bars=n_bars,
        style="chorale",
        source=f"bach-chorale:{short}",
        extra={"groove": groove, "chorale": short, "transpose": str(shift), "start_quarter": f"{start:g}"},
    )
