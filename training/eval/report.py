"""Aggregation of per-clip scores into the figures of the report, the acceptance checks of
issue 7, and a plain-text table.

Every figure is an entry ``{"model", "shuffled", "ground_truth", "n", "unit", "better",
"description"}`` (plus ``"per_stem"`` where it splits by stem and ``"opus"`` for
reconstruction). ``model`` is the model with each song's own prompt, ``shuffled`` the same
model with prompts (caption, BPM, key) permuted across songs (lower bound), ``ground_truth``
the set's own renders measured the same way (upper bound). A value is null where nothing could
be measured (e.g. no onsets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CONDITIONS = ("model", "shuffled", "ground_truth")


@dataclass(frozen=True)
class Spec:
    field: str
    unit: str  # share | ms | dB | distance
    agg: str  # mean | median
    description: str

    @property
    def better(self) -> str:
        return "lower" if self.unit in ("ms", "distance") else "higher"


GENERATE = {
    "tempo_accuracy": Spec(
        "tempo_ok",
        "share",
        "mean",
        "share of clips whose beat-tracked tempo (drums stem) is within 4 % of the asked BPM; octave errors are misses",
    ),
    "tempo_accuracy_octave": Spec(
        "tempo_ok_octave",
        "share",
        "mean",
        "as tempo_accuracy, but x2, x1/2, x3, x1/3 of the asked BPM also count (MIREX Accuracy 2)",
    ),
    "key_accuracy": Spec(
        "key_ok",
        "share",
        "mean",
        "share of clips whose mix key (STFT chroma + Krumhansl-Schmuckler) equals the asked key",
    ),
    "key_accuracy_relative": Spec(
        "key_ok_relative", "share", "mean", "as key_accuracy, the relative major/minor also counts"
    ),
    "key_mirex_score": Spec(
        "key_mirex", "share", "mean", "MIREX weighted key score: 1 exact, 0.5 fifth, 0.3 relative, 0.2 parallel"
    ),
    "onset_alignment_ms": Spec(
        "onset_alignment_ms",
        "ms",
        "median",
        "median over clips of the median distance from each bass onset to the nearest drum onset",
    ),
    "grid_alignment_ms": Spec(
        "grid_alignment_ms",
        "ms",
        "median",
        "median over clips of the median distance from each bass onset to the asked BPM's 16th-note grid",
    ),
    "stem_key_agreement": Spec(
        "stem_key_agreement",
        "share",
        "mean",
        "share of pairs of pitched stems (bass, instrument, melody) whose estimated keys agree",
    ),
    "stem_key_agreement_relative": Spec(
        "stem_key_agreement_relative", "share", "mean", "as stem_key_agreement, relative major/minor also agree"
    ),
    "melody_pitch_in_key": Spec(
        "melody_pitch_in_key",
        "share",
        "mean",
        "torchcrepe: share of voiced melody frames whose pitch class is in the asked key's scale",
    ),
    "bass_pitch_in_key": Spec(
        "bass_pitch_in_key",
        "share",
        "mean",
        "torchcrepe: share of voiced bass frames whose pitch class is in the asked key's scale",
    ),
    "notes_in_key": Spec(
        "notes_in_key",
        "share",
        "mean",
        "basic-pitch: share of transcribed note time (bass+instrument+melody) in the asked key's scale",
    ),
}
PER_STEM = {
    "stem_presence": Spec(
        "present", "share", "mean", "share of (clip, stem) whose RMS is >= -35 dB relative to the mix and >= -60 dBFS"
    ),
    "family_plausibility": Spec(
        "family",
        "share",
        "mean",
        "share of (clip, stem) whose spectral features fit the stem's family "
        "(bass low, drums percussive, melody high, instrument above bass)",
    ),
}
COMPOSE = {
    "bass_tempo_match": Spec(
        "tempo_match",
        "share",
        "mean",
        "compose (drums kept, bass generated): share of clips whose bass tempo is within 4 % of the kept drums' tempo",
    ),
    "bass_tempo_match_octave": Spec("tempo_match_octave", "share", "mean", "as bass_tempo_match, octave-tolerant"),
    "onset_alignment_ms": Spec(
        "onset_alignment_ms",
        "ms",
        "median",
        "compose: median distance from generated bass onsets to the kept drums' onsets",
    ),
    "bass_presence": Spec(
        "bass_present", "share", "mean", "compose: share of clips whose generated bass is present beside the kept drums"
    ),
}
RECON = {
    "mel_distance": Spec(
        "mel_distance", "distance", "mean", "mean |log10 mel| difference (80 bands) of the reconstruction"
    ),
    "mrstft_distance": Spec(
        "mrstft_distance",
        "distance",
        "mean",
        "multi-resolution STFT distance (spectral convergence + log magnitude; 512/1024/2048)",
    ),
    "si_sdr_db": Spec("si_sdr_db", "dB", "mean", "scale-invariant SDR of the reconstruction"),
}


def _aggregate(values: Sequence[float | bool | None], agg: str) -> tuple[float | None, int]:
    vals = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    if not vals:
        return None, 0
    return round(float(np.median(vals) if agg == "median" else np.mean(vals)), 4), len(vals)


def _entry(spec: Spec, values: Mapping[str, tuple[float | None, int]]) -> dict[str, object]:
    entry: dict[str, object] = {c: values[c][0] if c in values else None for c in CONDITIONS}
    entry.update(n=values.get("model", (None, 0))[1], unit=spec.unit, better=spec.better, description=spec.description)
    return entry


def summarize_generate(clips: Mapping[str, Sequence[Mapping[str, object]]]) -> dict[str, dict[str, object]]:
    """clips: {condition: [score_song dicts]} -> {metric name: entry}."""
    out = {}
    for name, spec in GENERATE.items():
        out[name] = _entry(spec, {c: _aggregate([s.get(spec.field) for s in v], spec.agg) for c, v in clips.items()})
    for name, spec in PER_STEM.items():
        values, per_stem = {}, {}
        for cond, scores in clips.items():
            flat = [bool(x) for s in scores for x in s.get(spec.field, {}).values()]
            values[cond] = _aggregate(flat, "mean")
            stems = sorted({k for s in scores for k in s.get(spec.field, {})})
            for stem in stems:
                per = [s[spec.field].get(stem) for s in scores if stem in s.get(spec.field, {})]
                per_stem.setdefault(stem, {})[cond] = _aggregate(per, "mean")[0]
        entry = _entry(spec, values)
        entry["per_stem"] = per_stem
        out[name] = entry
    return out


def summarize_compose(clips: Mapping[str, Sequence[Mapping[str, object]]]) -> dict[str, dict[str, object]]:
    """clips: {condition: [score_compose dicts]} -> {metric name: entry}."""
    return {
        name: _entry(spec, {c: _aggregate([s.get(spec.field) for s in v], spec.agg) for c, v in clips.items()})
        for name, spec in COMPOSE.items()
    }


def summarize_recon(rows: Sequence[Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """rows: [{"track": name, "kind": autoencoder|opus|identity|mismatched, metric: value...}] -> entries.

    model = autoencoder (through the latent whitening), opus = Opus at the latent bitrate,
    ground_truth = the input itself (identity), shuffled = another song's same stem (chance level)."""
    kind_to_cond = {"autoencoder": "model", "mismatched": "shuffled", "identity": "ground_truth", "opus": "opus"}
    out = {}
    for name, spec in RECON.items():
        values = {
            cond: _aggregate([r.get(spec.field) for r in rows if r["kind"] == kind], "mean")
            for kind, cond in kind_to_cond.items()
        }
        entry = _entry(spec, values)
        entry["opus"] = values["opus"][0]
        tracks = sorted({str(r["track"]) for r in rows})
        entry["per_stem"] = {
            t: {
                cond: _aggregate([r.get(spec.field) for r in rows if r["kind"] == kind and r["track"] == t], "mean")[0]
                for kind, cond in kind_to_cond.items()
            }
            for t in tracks
        }
        out[name] = entry
    return out


def acceptance(metrics: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """Issue 7's acceptance figures on the model row (pass is null when a figure is missing)."""

    def value(name: str, cond: str = "model") -> float | None:
        entry = metrics.get(name)
        v = entry.get(cond) if entry else None
        return float(v) if isinstance(v, int | float) else None

    def check(v: float | None, threshold: float, *, at_most: bool = False) -> dict[str, object]:
        ok = None if v is None else (v <= threshold if at_most else v >= threshold)
        return {"value": v, "threshold": threshold, "pass": ok}

    tempo, tempo_shuffled = value("generate.tempo_accuracy"), value("generate.tempo_accuracy", "shuffled")
    presence = metrics.get("generate.stem_presence", {}).get("per_stem", {})
    per_stem = [v.get("model") for v in presence.values()] if isinstance(presence, dict) else []
    min_presence = min((float(v) for v in per_stem if v is not None), default=None)
    gap = tempo - tempo_shuffled if tempo is not None and tempo_shuffled is not None else None
    return {
        "tempo_accuracy >= 0.8": check(tempo, 0.8),
        "tempo_accuracy - shuffled >= 0.5": check(gap, 0.5),
        "key_accuracy >= 0.6": check(value("generate.key_accuracy"), 0.6),
        "every stem present in >= 95 % of clips": check(min_presence, 0.95),
        "drum/bass onset alignment <= 20 ms (median)": check(value("generate.onset_alignment_ms"), 20.0, at_most=True),
        "compose bass tempo matches kept drums >= 0.9": check(value("compose.bass_tempo_match"), 0.9),
    }


def _fmt(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def format_table(metrics: Mapping[str, Mapping[str, object]]) -> str:
    """One line per figure: model, shuffled (lower bound), ground truth (upper bound), Opus where given."""
    lines = [f"{'metric':<40} {'model':>9} {'shuffled':>9} {'truth':>9} {'opus':>9}  unit"]
    for name, e in metrics.items():
        lines.append(
            f"{name:<40} {_fmt(e.get('model')):>9} {_fmt(e.get('shuffled')):>9} {_fmt(e.get('ground_truth')):>9} "
            f"{_fmt(e.get('opus')) if 'opus' in e else '':>9}  {e.get('unit')} ({e.get('better')} is better)"
        )
    return "\n".join(lines)
