"""Multi-track training data: the stem-folder format, its loader, dataset importers and the synthesiser.

Stems are always ordered bass, drums, instrument, melody (+ mix); audio is 48 kHz stereo.
"""

from __future__ import annotations

from training.data.adapters import SLAKH_CLASS_TO_STEM, ImportResult, import_dataset
from training.data.stems import (
    ScanReport,
    SongInfo,
    SongProblem,
    StemDataset,
    StemDataWarning,
    check_song,
    collate_stems,
    scan_stem_folders,
)
from training.data.symbolic import STEMS, Meter, Note, Part, SymbolicSong
from training.data.synth import SynthConfig, SynthResult, synthesize

__all__ = [
    "STEMS",
    "SLAKH_CLASS_TO_STEM",
    "ImportResult",
    "Meter",
    "Note",
    "Part",
    "ScanReport",
    "SongInfo",
    "SongProblem",
    "StemDataWarning",
    "StemDataset",
    "SymbolicSong",
    "SynthConfig",
    "SynthResult",
    "check_song",
    "collate_stems",
    "import_dataset",
    "scan_stem_folders",
    "synthesize",
]
