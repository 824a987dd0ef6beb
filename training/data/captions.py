"""Captions written from song metadata in varied wording (templates x synonyms).

Every caption names the tempo (the BPM number), the key (tonic and mode in some
spelling), the style and the instruments, so a text encoder has to generalise over phrasing.
"""

from __future__ import annotations

import numpy as np

from training.data.instruments import instrument_words
from training.data.styles import STYLES
from training.data.symbolic import SymbolicSong
from training.data.theory import tonic_name

_TEMPLATES = (
    "{a_mood} {style} {piece} at {bpm} in {key}, with {insts}",
    "{style} {piece}, {bpm}, {key}, featuring {insts}",
    "{insts} playing {a_mood} {style} {piece} in {key} at {bpm}",
    "{a_tempo} {style} {piece} in {key} ({bpm}) with {insts}",
    "{bpm} {style} in {key}: {insts}",
    "{Mood} {style} {piece} in {meter} time, {key}, {bpm}, {insts}",
    "{insts} - {mood} {style}, {key}, {bpm}",
    "{a_style} {piece} featuring {insts}; {key}, {bpm}",
)
_PIECES = ("groove", "track", "tune", "piece", "instrumental", "jam", "song")
_BPM = ("{n} BPM", "{n} bpm", "{n} beats per minute", "tempo {n}", "{n} BPM")
_KEY = {
    "major": ("{t} major", "{t} major", "{t} maj", "the key of {t} major"),
    "minor": ("{t} minor", "{t} minor", "{t}m", "the key of {t} minor"),
}


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _tempo_word(bpm: float, rng: np.random.Generator) -> str:
    if bpm < 80:
        options = ("slow", "laid-back", "unhurried")
    elif bpm < 110:
        options = ("mid-tempo", "easy-going", "steady")
    elif bpm < 140:
        options = ("upbeat", "lively", "brisk")
    else:
        options = ("fast", "driving", "up-tempo")
    return str(rng.choice(options))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def write_caption(song: SymbolicSong, rng: np.random.Generator) -> str:
    """One caption for the song; ``rng`` picks template and synonyms."""
    if song.style == "chorale":
        groove = song.extra.get("groove", "pop")
        style = str(rng.choice(["Bach chorale", "chorale", "Bach-style chorale", "baroque chorale"]))
        style += str(
            rng.choice([f" over a {groove} beat", f" arranged as {_article(groove)}", f" with {groove} drums"])
        )
        moods: tuple[str, ...] = ("solemn", "stately", "reverent", "harmonious")
    else:
        st = STYLES[song.style]
        style = str(rng.choice(st.words))
        moods = st.moods
    mood = str(rng.choice(moods))
    names = [str(rng.choice(instrument_words(name))) for name in song.instruments.values()]
    order = rng.permutation(len(names))
    insts = _join([names[i] for i in order])
    key = str(rng.choice(_KEY[song.mode])).format(t=tonic_name(song.tonic, song.mode))
    bpm = str(rng.choice(_BPM)).format(n=int(round(song.bpm)))
    text = str(rng.choice(_TEMPLATES)).format(
        a_mood=_article(mood),
        mood=mood,
        Mood=mood.capitalize(),
        style=style,
        piece=str(rng.choice(_PIECES)),
        bpm=bpm,
        key=key,
        insts=insts,
        a_style=_article(style),
        a_tempo=_article(_tempo_word(song.bpm, rng)),
        meter=str(song.meter),
    )
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text
