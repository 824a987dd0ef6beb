"""Per-clip scoring: every raw measurement of one clip, before aggregation over the set.

``score_song`` measures a full arrangement (the ``generate`` task or the ground truth),
``score_compose`` a generated bass against kept drums. Both return flat JSON-ready dicts;
missing prompt fields (no BPM, no key) or missing stems leave the matching entries out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from jen_core.conditioning import key_name
from training.eval import metrics_key as mk
from training.eval import metrics_rhythm as mr
from training.eval import metrics_stems as ms

STEM_NAMES = ("bass", "drums", "instrument", "melody")


@dataclass(frozen=True)
class Extras:
    """Optional, slower figures: torchcrepe pitch and basic-pitch transcription."""

    pitch: bool = False
    transcription: bool = False


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def score_song(
    stems: Mapping[str, np.ndarray],
    mix: np.ndarray,
    sr: int,
    *,
    bpm: float | None,
    key: int | None,
    extras: Extras = Extras(),
) -> dict[str, object]:
    """stems: {name: [2, L]} (any of bass, drums, instrument, melody), mix: [2, L] at ``sr``."""
    out: dict[str, object] = {}
    tempo_src = "drums" if "drums" in stems else "mix"
    tempo = mr.estimate_tempo(stems.get("drums", mix), sr)
    out.update(tempo_bpm=_r(tempo.bpm, 2), tempo_source=tempo_src)
    if bpm is not None:
        out["tempo_ok"] = mr.tempo_matches(tempo.bpm, bpm)
        out["tempo_ok_octave"] = mr.tempo_matches(tempo.bpm, bpm, octave=True)
    est_key = mk.estimate_key(mix, sr)
    out["key_estimate"] = key_name(est_key) if est_key is not None else None
    if key is not None:
        out["key_ok"] = mk.keys_match(est_key, key)
        out["key_ok_relative"] = mk.keys_match(est_key, key, relative=True)
        out["key_mirex"] = mk.mirex_key_score(est_key, key)
    present, family, features = {}, {}, {}
    for name in STEM_NAMES:
        if name not in stems:
            continue
        f = ms.stem_features(stems[name], sr)
        features[name] = f.to_dict()
        present[name] = ms.stem_present(stems[name], mix)
        family[name] = ms.family_plausible(name, f)
    out.update(present=present, family=family, features=features)
    if "bass" in stems and "drums" in stems:
        out["onset_alignment_ms"] = _r(mr.onset_alignment_ms(stems["bass"], stems["drums"], sr), 2)
    if "bass" in stems and bpm is not None:
        out["grid_alignment_ms"] = _r(mr.grid_alignment_ms(stems["bass"], sr, bpm=bpm), 2)
    agreement = mk.stem_key_agreement(stems, sr)
    if agreement is not None:
        out["stem_key_agreement"], out["stem_key_agreement_relative"] = agreement
    if key is not None and extras.pitch:
        from training.eval.metrics_pitch import pitch_in_key

        if "melody" in stems:
            out["melody_pitch_in_key"] = _r(pitch_in_key(stems["melody"], sr, key=key, fmin=100.0, fmax=2000.0))
        if "bass" in stems:
            out["bass_pitch_in_key"] = _r(pitch_in_key(stems["bass"], sr, key=key, fmin=32.0, fmax=500.0))
    if key is not None and extras.transcription:
        from training.eval.metrics_pitch import notes_in_key

        pitched = [stems[s] for s in mk.PITCHED_STEMS if s in stems]
        if pitched:
            out["notes_in_key"] = _r(notes_in_key(np.sum(pitched, axis=0), sr, key=key))
    return out


def score_compose(bass: np.ndarray, drums: np.ndarray, sr: int) -> dict[str, object]:
    """A generated (or real) bass [2, L] against the kept drums [2, L]: tempo agreement, alignment, presence."""
    b, d = mr.estimate_tempo(bass, sr), mr.estimate_tempo(drums, sr)
    return {
        "bass_tempo_bpm": _r(b.bpm, 2),
        "drums_tempo_bpm": _r(d.bpm, 2),
        "tempo_match": mr.tempo_matches(b.bpm, d.bpm),
        "tempo_match_octave": mr.tempo_matches(b.bpm, d.bpm, octave=True),
        "onset_alignment_ms": _r(mr.onset_alignment_ms(bass, drums, sr), 2),
        "bass_present": ms.stem_present(bass, bass + drums),
    }
