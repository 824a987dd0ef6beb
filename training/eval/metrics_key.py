"""Key estimation: chroma + Krumhansl-Schmuckler template correlation, and key relations.

Keys are indices 1..24 as in :func:`jen_core.conditioning.parse_key` (1..12 major from C,
13..24 minor from C). The chroma is librosa's STFT chroma (4096-point frames at 22.05 kHz,
averaged over the clip); in tests on the synthetic renders it beat CQT chroma, whose strong
upper partials pull the estimate to the dominant. The key is the template (24 rotations of
the Krumhansl-Kessler major and minor profiles) with the highest Pearson correlation.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from itertools import combinations

import numpy as np

from training.eval.signal import analysis_mono, rms_db

KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the leading tone (harmonic minor)
GATE_DB = -60.0
PITCHED_STEMS = ("bass", "instrument", "melody")


def chroma(wav: np.ndarray, sr: int) -> np.ndarray:
    """wav: [C, L] or [L] -> mean chroma [12] (C first); zeros for silence."""
    import librosa

    y = analysis_mono(wav, sr)
    if rms_db(y) < GATE_DB or y.size < 4096:
        return np.zeros(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tuning estimate on noise-like audio
        c = librosa.feature.chroma_stft(y=y, sr=22050, n_fft=4096, hop_length=1024)
    return c.mean(axis=1).astype(np.float64)


def key_from_chroma(vector: np.ndarray) -> tuple[int | None, float]:
    """Chroma [12] -> (key index 1..24 or None when the chroma is flat, correlation of the best template)."""
    v = np.asarray(vector, dtype=np.float64)
    if v.shape != (12,) or float(np.std(v)) < 1e-9:
        return None, 0.0
    best, best_r = None, -np.inf
    for offset, profile in ((1, KRUMHANSL_MAJOR), (13, KRUMHANSL_MINOR)):
        for pc in range(12):
            r = float(np.corrcoef(v, np.roll(profile, pc))[0, 1])
            if r > best_r:
                best, best_r = offset + pc, r
    return best, best_r


def estimate_key(wav: np.ndarray, sr: int) -> int | None:
    """wav: [C, L] or [L] -> key index 1..24, None for silence."""
    return key_from_chroma(chroma(wav, sr))[0]


def _split(index: int) -> tuple[int, bool]:
    return (index - 1) % 12, index > 12


def key_relation(estimate: int | None, target: int) -> str:
    """'exact', 'fifth' (same mode, a fifth apart), 'relative', 'parallel', 'other' (or 'none')."""
    if estimate is None:
        return "none"
    (ep, em), (tp, tm) = _split(estimate), _split(target)
    if estimate == target:
        return "exact"
    if em == tm and (ep - tp) % 12 in (5, 7):
        return "fifth"
    if em != tm and ((tm and ep == (tp + 3) % 12) or (not tm and ep == (tp + 9) % 12)):
        return "relative"
    if em != tm and ep == tp:
        return "parallel"
    return "other"


MIREX_WEIGHTS = {"exact": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0, "none": 0.0}


def mirex_key_score(estimate: int | None, target: int) -> float:
    """MIREX weighted key score: 1 exact, 0.5 fifth, 0.3 relative, 0.2 parallel, else 0."""
    return MIREX_WEIGHTS[key_relation(estimate, target)]


def keys_match(estimate: int | None, target: int, *, relative: bool = False) -> bool:
    """Exact match, or also the relative major/minor with ``relative``."""
    rel = key_relation(estimate, target)
    return rel == "exact" or (relative and rel == "relative")


def scale_pitch_classes(key: int) -> frozenset[int]:
    """Pitch classes (0 = C) of the key's scale: major, or natural minor plus its leading tone."""
    pc, minor = _split(key)
    return frozenset((pc + s) % 12 for s in (MINOR_SCALE if minor else MAJOR_SCALE))


def stem_key_agreement(stems: Mapping[str, np.ndarray], sr: int) -> tuple[float, float] | None:
    """Pairwise agreement of the keys estimated on each pitched stem (bass, instrument, melody) that
    is not silent: (share of pairs with the same key, share with the same or relative key); None
    with fewer than two such stems. stems: {name: [C, L]}."""
    keys = [estimate_key(stems[s], sr) for s in PITCHED_STEMS if s in stems]
    keys = [k for k in keys if k is not None]
    if len(keys) < 2:
        return None
    pairs = list(combinations(keys, 2))
    exact = float(np.mean([a == b for a, b in pairs]))
    tolerant = float(np.mean([keys_match(a, b, relative=True) for a, b in pairs]))
    return exact, tolerant
