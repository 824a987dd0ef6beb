"""Instrument names used by the synthetic data: caption wording and General MIDI programs.

Keys are the instrument names stored in ``meta.json["instruments"]``; the built-in
renderer has a timbre for each (:mod:`training.data.timbres`) and the FluidSynth renderer
plays the GM program (drum kits are GM bank-128 presets on channel 10).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    stem: str
    words: tuple[str, ...]  # caption synonyms, first is the plain name
    program: int  # General MIDI program (0-based); the kit number for drums


INSTRUMENTS: dict[str, Instrument] = {
    # bass
    "synth_bass": Instrument("bass", ("synth bass", "analog bass", "synth bassline"), 38),
    "electric_bass": Instrument("bass", ("electric bass", "bass guitar", "fingered bass"), 33),
    "upright_bass": Instrument("bass", ("upright bass", "double bass", "acoustic bass"), 32),
    "sub_bass": Instrument("bass", ("sub bass", "deep sub", "808 bass"), 39),
    # drums
    "drum_kit": Instrument("drums", ("drums", "drum kit", "acoustic drums", "live drums"), 0),
    "electronic_kit": Instrument("drums", ("drum machine", "electronic drums", "programmed beat"), 25),
    "jazz_kit": Instrument("drums", ("jazz drums", "ride cymbal and brushes", "jazz kit"), 32),
    # instrument (harmony)
    "electric_piano": Instrument("instrument", ("electric piano", "e-piano", "Rhodes-style keys"), 4),
    "organ": Instrument("instrument", ("organ", "drawbar organ", "Hammond-style organ"), 16),
    "pad": Instrument("instrument", ("synth pad", "warm pad", "ambient pad"), 89),
    "guitar": Instrument("instrument", ("guitar", "plucked guitar", "clean electric guitar"), 27),
    "acoustic_guitar": Instrument("instrument", ("acoustic guitar", "steel-string guitar", "strummed guitar"), 25),
    "piano": Instrument("instrument", ("piano", "acoustic piano", "grand piano"), 0),
    "strings": Instrument("instrument", ("strings", "string section", "string ensemble"), 48),
    # melody
    "lead_synth": Instrument("melody", ("lead synth", "synth lead", "square lead"), 80),
    "flute": Instrument("melody", ("flute", "breathy flute", "wooden flute"), 73),
    "bell": Instrument("melody", ("bells", "glockenspiel", "bell melody"), 9),
    "saw_lead": Instrument("melody", ("saw lead", "bright lead synth", "sawtooth lead"), 81),
}


def instrument_words(name: str) -> tuple[str, ...]:
    return INSTRUMENTS[name].words
