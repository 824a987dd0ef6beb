"""Musical conditioning shared by pipelines and training: keys, meta tokens, task prefixes.

torch is imported only by :func:`meta_tensor`, so the torch-free ONNX pipeline can use the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jen_core.errors import JenError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"DB": 1, "D#": 3, "GB": 6, "G#": 8, "A#": 10, "CB": 11, "E#": 5, "FB": 4, "B#": 0}
_MINOR_WORDS = {"minor", "min", "m", "moll"}
_MAJOR_WORDS = {"major", "maj", "dur", ""}


def parse_key(key: str) -> int:
    """'E minor', 'Em', 'F# major', 'bb min' -> index 1..24 (1..12 major from C, 13..24 minor from C)."""
    text = key.strip()
    match = re.fullmatch(r"([A-Ga-g])\s*([#b♯♭]?)\s*(.*)", text)
    if not match:
        raise JenError(f"unknown key '{key}'; write it like 'E minor', 'F# major' or 'Bbm'")
    letter, accidental, mode = match.groups()
    name = letter.upper() + accidental.replace("♯", "#").replace("♭", "b")
    upper = name.upper()
    if name in PITCH_CLASSES:
        pc = PITCH_CLASSES.index(name)
    elif upper in _ALIASES:
        pc = _ALIASES[upper]
    elif upper in (p.upper() for p in PITCH_CLASSES):
        pc = [p.upper() for p in PITCH_CLASSES].index(upper)
    else:  # pragma: no cover - regex limits the cases
        raise JenError(f"unknown key '{key}'")
    mode_word = mode.strip()
    if mode_word == "m" or mode_word.lower() in _MINOR_WORDS - {"m"}:
        return 13 + pc
    if mode_word.lower() in _MAJOR_WORDS or mode_word == "M":
        return 1 + pc
    raise JenError(f"unknown mode '{mode_word}' in key '{key}'; use major or minor")


def key_name(index: int) -> str:
    """Inverse of :func:`parse_key`: 1..24 -> 'C major' ... 'B minor'."""
    if not 1 <= index <= 24:
        raise JenError(f"key index {index} out of range 1..24")
    pc, minor = (index - 1) % 12, index > 12
    return f"{PITCH_CLASSES[pc]} {'minor' if minor else 'major'}"


def bars_for(seconds: float, bpm: float, beats_per_bar: float = 4.0) -> int:
    """Whole bars in a clip of ``seconds`` at ``bpm`` (quarter-note beats)."""
    return max(1, int(math.floor(seconds * bpm / 60.0 / beats_per_bar + 1e-6)))


def meta_values(*, bpm: float | None, key: str | int | None, bars: int | None) -> list[float]:
    """One row of meta conditioning: [bpm, key index, bars]; 0 means unknown."""
    if bpm is not None and not 20 <= bpm <= 400:
        raise JenError(f"bpm {bpm} is out of range; use 20-400")
    key_index = parse_key(key) if isinstance(key, str) else int(key or 0)
    return [float(bpm or 0.0), float(key_index), float(bars or 0)]


def meta_tensor(
    *, bpm: float | None, key: str | int | None, bars: int | None, batch: int = 1, device: torch.device | str = "cpu"
) -> Tensor:
    """Meta conditioning [B, 3] = (bpm, key index, bars); 0 means unknown."""
    import torch

    row = meta_values(bpm=bpm, key=key, bars=bars)
    return torch.tensor([row] * batch, dtype=torch.float32, device=device)


def task_prefix(targets: Sequence[str], stems: Sequence[str]) -> str:
    """Composer task prefix (4.2): '[bass & drums generation]', stems in model order."""
    unknown = [s for s in targets if s not in stems]
    if unknown:
        raise JenError(f"unknown stem(s) {', '.join(unknown)}; choose from {', '.join(stems)}")
    ordered = [s for s in stems if s in targets]
    return f"[{' & '.join(ordered)} generation]"


def prefixed_prompt(prompt: str, targets: Sequence[str], stems: Sequence[str]) -> str:
    return f"{task_prefix(targets, stems)} {prompt}".strip()
