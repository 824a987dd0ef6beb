"""Style table of the procedural generator: meters, tempi, progressions, grooves and instruments.

Drum patterns are strings of sixteenth-note steps per GM drum voice: ``x`` accent, ``o``
normal, ``g`` ghost, ``.`` rest. A meter a style has no pattern for is built from its beat
groups (:func:`generic_groove`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.data.symbolic import Meter

KICK, RIM, SNARE, CLAP, HAT, OPEN_HAT, CRASH, RIDE, SHAKER = 36, 37, 38, 39, 42, 46, 49, 51, 70
VOICES = {"K": KICK, "R": RIM, "S": SNARE, "C": CLAP, "H": HAT, "O": OPEN_HAT, "Y": RIDE, "M": SHAKER}
VELOCITY = {"x": 112, "o": 84, "g": 38}

Groove = dict[str, str]  # voice letter -> step string


@dataclass(frozen=True)
class Style:
    name: str
    words: tuple[str, ...]  # caption synonyms
    moods: tuple[str, ...]
    meters: tuple[str, ...]
    bpm: tuple[int, int]
    modes: tuple[str, ...]
    progressions: dict[str, tuple[str, ...]]
    bass: str  # bass pattern name (procedural.BASS_PATTERNS)
    comp: str  # comping pattern name (procedural.COMP_PATTERNS)
    grooves: dict[str, Groove]
    bass_instruments: tuple[str, ...]
    kits: tuple[str, ...]
    instruments: tuple[str, ...]
    melody_instruments: tuple[str, ...]
    swing: float = 0.5  # share of a beat pair taken by the first eighth (0.5 = straight)
    chord_bars: tuple[int, ...] = (1,)
    melody_density: float = 0.55
    extra: dict[str, str] = field(default_factory=dict)

    def groove(self, meter: Meter) -> Groove:
        return self.grooves.get(str(meter)) or generic_groove(meter)


def generic_groove(meter: Meter) -> Groove:
    """Kick and snare alternate on the beat groups (kick first), hats on every eighth."""
    steps = meter.steps
    kick, snare = ["."] * steps, ["."] * steps
    pos = 0
    for i, g in enumerate(meter.groups):
        (kick if i % 2 == 0 else snare)[pos] = "x"
        pos += g
    hats = "".join("o" if s % 2 == 0 else "." for s in range(steps))
    return {"K": "".join(kick), "S": "".join(snare), "H": hats}


_MAJ_POP = ("I V vi IV", "vi IV I V", "I vi IV V", "I IV vi V")
_MIN_POP = ("i bVI bIII bVII", "i iv bVI V", "i bVI iv bVII")

STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "pop",
            ("pop", "pop", "synth-pop", "radio pop"),
            ("catchy", "bright", "upbeat", "feel-good"),
            ("4/4", "4/4", "3/4"),
            (90, 128),
            ("major", "major", "minor"),
            {"major": _MAJ_POP, "minor": _MIN_POP},
            "eighths",
            "quarters",
            {
                "4/4": {"K": "x.......x.x.....", "S": "....x.......x...", "H": "o.o.o.o.o.o.o.o."},
                "3/4": {"K": "x.......o...", "S": "....x...x...", "H": "o.o.o.o.o.o."},
            },
            ("electric_bass", "synth_bass"),
            ("drum_kit", "electronic_kit"),
            ("piano", "electric_piano", "acoustic_guitar", "pad"),
            ("lead_synth", "flute", "bell"),
        ),
        Style(
            "rock",
            ("rock", "rock", "indie rock", "alt-rock"),
            ("driving", "energetic", "gritty", "anthemic"),
            ("4/4", "4/4", "4/4", "3/4"),
            (100, 160),
            ("major", "minor"),
            {
                "major": ("I bVII IV I", "I IV V IV", "I V IV IV", "I bIII IV I"),
                "minor": ("i bVI bVII i", "i bVII bVI V", "i iv bVII i"),
            },
            "eighths",
            "strum",
            {
                "4/4": {
                    "K": "x.....x.x.......",
                    "S": "....x.......x...",
                    "H": "x.o.x.o.x.o.x.o.",
                    "Y": "................",
                },
                "3/4": {"K": "x.....x.....", "S": "....x...x...", "H": "x.o.x.o.x.o."},
            },
            ("electric_bass",),
            ("drum_kit",),
            ("guitar", "organ"),
            ("saw_lead", "lead_synth"),
        ),
        Style(
            "funk",
            ("funk", "funky", "funk", "groovy funk"),
            ("funky", "tight", "syncopated", "groovy"),
            ("4/4",),
            (90, 118),
            ("minor", "minor", "major"),
            {"major": ("I7 IV7", "I7 I7 IV7 IV7"), "minor": ("i7 IV7", "i7 i7 iv7 bVII7", "i7 bVII7")},
            "funk",
            "stabs",
            {"4/4": {"K": "x.....x...x..x..", "S": "....x..g.g..x..g", "H": "xgogxgogxgogxgog"}},
            ("electric_bass", "synth_bass"),
            ("drum_kit",),
            ("electric_piano", "guitar", "organ"),
            ("lead_synth", "flute"),
            melody_density=0.45,
        ),
        Style(
            "house",
            ("house", "deep house", "house", "club house"),
            ("hypnotic", "uplifting", "pumping", "groovy"),
            ("4/4",),
            (118, 130),
            ("minor", "minor", "major"),
            {"major": ("Imaj7 vi7 ii7 V7", "I vi IV V"), "minor": ("i bVI bIII bVII", "i7 iv7 bVII7 bIIImaj7")},
            "offbeat",
            "offbeat",
            {
                "4/4": {
                    "K": "x...x...x...x...",
                    "C": "....x.......x...",
                    "O": "..o...o...o...o.",
                    "H": "o...o...o...o...",
                }
            },
            ("synth_bass", "sub_bass"),
            ("electronic_kit",),
            ("organ", "pad", "electric_piano", "piano"),
            ("lead_synth", "saw_lead", "bell"),
            chord_bars=(1, 2),
            melody_density=0.4,
        ),
        Style(
            "hip hop",
            ("hip hop", "hip-hop", "boom bap", "lo-fi hip hop"),
            ("laid-back", "chill", "dusty", "mellow"),
            ("4/4",),
            (70, 98),
            ("minor", "minor", "major"),
            {"major": ("Imaj7 vi7 ii7 V7", "IVmaj7 iii7 ii7 Imaj7"), "minor": ("i7 bVImaj7 iv7 V7", "i bVI iv V")},
            "kick",
            "sustain",
            {"4/4": {"K": "x......x..x.....", "S": "....x.......x...", "H": "o.o.o.o.o.o.o.o."}},
            ("sub_bass", "electric_bass"),
            ("electronic_kit",),
            ("electric_piano", "piano", "pad"),
            ("bell", "flute", "lead_synth"),
            swing=0.58,
            melody_density=0.4,
        ),
        Style(
            "jazz waltz",
            ("jazz waltz", "jazz waltz", "waltz-time jazz", "swinging jazz waltz"),
            ("swinging", "elegant", "lilting", "warm"),
            ("3/4",),
            (120, 180),
            ("major", "minor"),
            {
                "major": ("ii7 V7 Imaj7 Imaj7", "Imaj7 vi7 ii7 V7", "iii7 vi7 ii7 V7"),
                "minor": ("iidim V7 i7 i7", "i7 iv7 bVII7 bIIImaj7"),
            },
            "walking",
            "waltz",
            {"3/4": {"Y": "x...x.ox..o.", "K": "x...........", "H": "....o.......", "R": "........g..."}},
            ("upright_bass",),
            ("jazz_kit",),
            ("piano", "electric_piano"),
            ("flute", "bell"),
            swing=0.62,
        ),
        Style(
            "swing",
            ("swing", "jazz", "straight-ahead jazz", "swing jazz"),
            ("swinging", "smoky", "relaxed", "classy"),
            ("4/4",),
            (110, 180),
            ("major", "minor"),
            {"major": ("ii7 V7 Imaj7 vi7", "Imaj7 vi7 ii7 V7"), "minor": ("iidim V7 i7 i7", "i7 iv7 bVII7 bIIImaj7")},
            "walking",
            "charleston",
            {"4/4": {"Y": "x...x..ox...x..o", "K": "x.......x.......", "H": "....o.......o..."}},
            ("upright_bass",),
            ("jazz_kit",),
            ("piano", "electric_piano"),
            ("flute", "bell", "lead_synth"),
            swing=0.64,
        ),
        Style(
            "ballad",
            ("ballad", "power ballad", "slow ballad", "ballad"),
            ("tender", "emotional", "gentle", "dreamy"),
            ("4/4", "4/4", "3/4", "6/8"),
            (60, 80),
            ("major", "minor"),
            {"major": ("I vi IV V", "I iii vi IV", "IV I V vi"), "minor": ("i bVI bIII bVII", "i iv v i")},
            "roots",
            "arpeggio",
            {
                "4/4": {"K": "x.......x.......", "R": "........o.......", "H": "o.o.o.o.o.o.o.o."},
                "3/4": {"K": "x...........", "R": "....o...o...", "H": "o.o.o.o.o.o."},
                "6/8": {"K": "x...........", "S": "......x.....", "H": "o.o.o.o.o.o."},
            },
            ("electric_bass", "upright_bass"),
            ("drum_kit",),
            ("piano", "pad", "strings", "acoustic_guitar"),
            ("flute", "bell", "lead_synth"),
            chord_bars=(1, 2),
            melody_density=0.4,
        ),
        Style(
            "reggae",
            ("reggae", "roots reggae", "one-drop reggae", "reggae"),
            ("relaxed", "sunny", "laid-back", "warm"),
            ("4/4",),
            (66, 90),
            ("major", "minor"),
            {"major": ("I IV V IV", "I V vi IV"), "minor": ("i iv i iv", "i bVII i bVII")},
            "reggae",
            "skank",
            {"4/4": {"K": "........x.......", "R": "........x.......", "H": "o.o.o.o.o.o.o.o."}},
            ("electric_bass",),
            ("drum_kit",),
            ("organ", "guitar"),
            ("lead_synth", "flute"),
        ),
        Style(
            "folk",
            ("folk", "acoustic folk", "folk", "indie folk"),
            ("pastoral", "warm", "rustic", "gentle"),
            ("6/8", "6/8", "3/4", "4/4"),
            (75, 130),
            ("major", "major", "minor"),
            {"major": ("I IV I V", "I vi IV V"), "minor": ("i bVII bVI bVII", "i iv i V")},
            "roots",
            "arpeggio",
            {
                "6/8": {"K": "x.....o.....", "S": "......x.....", "H": "o.o.o.o.o.o."},
                "3/4": {"K": "x...........", "S": "....o...o...", "H": "o.o.o.o.o.o."},
            },
            ("upright_bass", "electric_bass"),
            ("drum_kit",),
            ("acoustic_guitar",),
            ("flute", "bell"),
        ),
        Style(
            "prog rock",
            ("prog rock", "progressive rock", "odd-meter rock", "math rock"),
            ("angular", "restless", "driving", "intricate"),
            ("5/4", "7/8", "7/8"),
            (100, 160),
            ("major", "minor"),
            {"major": ("I bVII bVI bVII", "I III IV iv"), "minor": ("i bVI bIII bVII", "i bVII bVI V")},
            "groups",
            "strum",
            {
                "5/4": {"K": "x.....x.....x.......", "S": "........x.......x...", "H": "o.o.o.o.o.o.o.o.o.o."},
                "7/8": {"K": "x.......x.....", "S": "....x.......x.", "H": "o.o.o.o.o.o.o."},
            },
            ("electric_bass", "synth_bass"),
            ("drum_kit",),
            ("organ", "guitar", "pad"),
            ("saw_lead", "lead_synth"),
        ),
        Style(
            "fusion",
            ("jazz fusion", "fusion", "jazz-funk fusion", "fusion"),
            ("slick", "intricate", "bright", "busy"),
            ("7/8", "5/4", "4/4"),
            (90, 140),
            ("major", "minor"),
            {"major": ("Imaj7 bVIImaj7", "Imaj7 II7 ii7 V7"), "minor": ("i7 bIImaj7", "i7 bVII7 bVImaj7 V7")},
            "groups",
            "stabs",
            {
                "7/8": {"K": "x.......x.....", "S": "....x..g....x.", "H": "oooooooooooooo"},
                "5/4": {"K": "x.....x.....x.......", "S": "....x.......x.......", "H": "oooooooooooooooooooo"},
            },
            ("electric_bass", "synth_bass"),
            ("drum_kit",),
            ("electric_piano", "pad"),
            ("lead_synth", "saw_lead"),
        ),
        Style(
            "bossa nova",
            ("bossa nova", "bossa", "Brazilian bossa nova", "bossa nova"),
            ("breezy", "smooth", "sunny", "relaxed"),
            ("4/4",),
            (110, 145),
            ("major", "minor"),
            {"major": ("Imaj7 II7 ii7 V7", "Imaj7 vi7 ii7 V7"), "minor": ("i7 iv7 bVII7 bIIImaj7", "i7 II7 iidim V7")},
            "bossa",
            "bossa",
            {"4/4": {"K": "x..xx..xx..xx..x", "R": "x..x..x...x..x..", "M": "oooooooooooooooo"}},
            ("upright_bass", "electric_bass"),
            ("jazz_kit", "drum_kit"),
            ("acoustic_guitar", "piano"),
            ("flute", "bell"),
        ),
    )
}

CHORALE_GROOVES: dict[str, tuple[str, ...]] = {
    "4/4": ("pop", "rock", "ballad", "hip hop"),
    "3/4": ("ballad", "jazz waltz"),
}
"""Styles whose drums accompany a Bach chorale, by the chorale's meter."""


def downbeat_kick(style: str, meter: Meter) -> bool:
    """Whether the style's groove for this meter has a kick on the first step of every bar."""
    groove = STYLES[style].groove(meter)
    return groove.get("K", ".")[0] != "."
