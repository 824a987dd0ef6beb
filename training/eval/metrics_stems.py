"""Stem presence and instrument-family plausibility from simple spectral features.

Presence: the stem's RMS is at least :data:`PRESENCE_REL_DB` relative to the mix and above
:data:`PRESENCE_ABS_DB` absolute (silence is never present).

Family plausibility (rules, per stem name; thresholds set from the built-in and FluidSynth
renders of ``jen data synth``, where every ground-truth stem passes):

- bass: low register: magnitude-weighted spectral centroid < 600 Hz and dominant frequency < 300 Hz;
- drums: percussive: HPSS percussive energy share >= 0.08 and >= 1 onset per second;
- melody: higher register: dominant frequency >= 250 Hz and centroid >= 400 Hz;
- instrument: above the bass register: centroid >= 250 Hz.

The centroid and dominant frequency are medians over frames within 40 dB of the loudest frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from training.eval.metrics_rhythm import onset_times
from training.eval.signal import ANALYSIS_SR, analysis_mono, rms_db

PRESENCE_REL_DB = -35.0
PRESENCE_ABS_DB = -60.0
N_FFT, HOP = 2048, 512


def stem_level_db(stem: np.ndarray, mix: np.ndarray) -> float:
    """RMS of ``stem`` relative to ``mix`` in dB (both [C, L])."""
    return rms_db(stem) - rms_db(mix)


def stem_present(stem: np.ndarray, mix: np.ndarray) -> bool:
    """stem, mix: [C, L]. True when the stem is audible in the mix (see module doc)."""
    return rms_db(stem) >= PRESENCE_ABS_DB and stem_level_db(stem, mix) >= PRESENCE_REL_DB


@dataclass(frozen=True)
class StemFeatures:
    rms_db: float
    centroid_hz: float
    dominant_hz: float
    percussive_share: float
    onset_rate: float  # onsets per second

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


def stem_features(wav: np.ndarray, sr: int) -> StemFeatures:
    """wav: [C, L] or [L] at ``sr`` -> :class:`StemFeatures` (zeros for silence)."""
    import librosa

    y = analysis_mono(wav, sr)
    level = rms_db(y)
    seconds = max(y.size / ANALYSIS_SR, 1e-9)
    if level < PRESENCE_ABS_DB or y.size < N_FFT:
        return StemFeatures(level, 0.0, 0.0, 0.0, 0.0)
    mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    freqs = librosa.fft_frequencies(sr=ANALYSIS_SR, n_fft=N_FFT)
    frame_level = mag.sum(axis=0)
    active = frame_level >= frame_level.max() * 10 ** (-40 / 20)
    centroid = (freqs[:, None] * mag).sum(axis=0) / np.maximum(frame_level, 1e-12)
    dominant = freqs[np.argmax(mag, axis=0)]
    harmonic, percussive = librosa.decompose.hpss(mag, margin=1.0)
    h, p = float(np.sum(harmonic**2)), float(np.sum(percussive**2))
    return StemFeatures(
        rms_db=level,
        centroid_hz=float(np.median(centroid[active])),
        dominant_hz=float(np.median(dominant[active])),
        percussive_share=p / max(h + p, 1e-12),
        onset_rate=onset_times(y, ANALYSIS_SR).size / seconds,
    )


def family_plausible(stem: str, features: StemFeatures) -> bool:
    """Does a stem called ``stem`` (bass, drums, instrument, melody) sound like its family?"""
    f = features
    if f.rms_db < PRESENCE_ABS_DB:
        return False
    if stem == "bass":
        return f.centroid_hz < 600.0 and f.dominant_hz < 300.0
    if stem == "drums":
        return f.percussive_share >= 0.08 and f.onset_rate >= 1.0
    if stem == "melody":
        return f.dominant_hz >= 250.0 and f.centroid_hz >= 400.0
    if stem == "instrument":
        return f.centroid_hz >= 250.0
    raise ValueError(f"no family rule for stem '{stem}'")
