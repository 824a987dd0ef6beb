"""Tempo, onsets and rhythmic alignment (librosa; no learned weights).

Tempo: an onset-strength envelope (librosa) -> its unbiased autocorrelation -> each candidate
tempo scored by the autocorrelation at one and two beat periods, weighted by a log-normal
prior (120 BPM, one octave: librosa's default) -> librosa's dynamic-programming beat tracker
started at that tempo -> the tempo of the least-squares line through the tracked beats (sub-frame
resolution; the tracker's answer is kept only when it agrees with the periodicity estimate
within 8 %). Octave errors stay errors in :func:`tempo_matches` unless ``octave=True``
(MIREX "Accuracy 2": x2, x1/2, x3, x1/3 also count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.eval.signal import ANALYSIS_SR, analysis_mono, rms_db

TEMPO_HOP = 256  # 11.6 ms frames for the tempo envelope
ONSET_HOP = 128  # 5.8 ms frames for onset times
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 1.0
MIN_BPM, MAX_BPM = 50.0, 220.0
TEMPO_TOLERANCE = 0.04
OCTAVE_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
GATE_DB = -60.0  # quieter audio has no onsets and no tempo


@dataclass(frozen=True)
class TempoEstimate:
    """bpm: the beat-tracked tempo (nan when none could be measured); periodicity_bpm: the envelope
    autocorrelation estimate; beats: beat times in seconds."""

    bpm: float
    periodicity_bpm: float
    beats: np.ndarray


def onset_envelope(y: np.ndarray, *, sr: int = ANALYSIS_SR, hop: int = TEMPO_HOP) -> np.ndarray:
    """Mono y: [L] -> onset strength per frame [F] (librosa's mel spectral flux)."""
    import librosa

    return librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop).astype(np.float64)


def periodicity_tempo(
    envelope: np.ndarray,
    *,
    fps: float,
    prior_bpm: float = PRIOR_BPM,
    prior_octaves: float = PRIOR_OCTAVES,
    min_bpm: float = MIN_BPM,
    max_bpm: float = MAX_BPM,
) -> float:
    """Tempo (BPM) of an onset envelope [F] at ``fps`` frames/s from its autocorrelation; nan if flat."""
    o = np.asarray(envelope, dtype=np.float64) - float(np.mean(envelope))
    n = o.size
    if n < 8 or not np.any(np.abs(o) > 1e-12):
        return float("nan")
    ac = np.fft.irfft(np.abs(np.fft.rfft(o, 2 * n)) ** 2)[:n] / (n - np.arange(n))
    grid = np.exp(np.linspace(np.log(min_bpm), np.log(max_bpm), 4000))
    score = np.zeros_like(grid)
    for multiple in (1, 2):
        lags = multiple * 60.0 * fps / grid
        score += np.where(lags < 0.75 * n, np.interp(lags, np.arange(n), ac), 0.0)
    score *= np.exp(-0.5 * ((np.log2(grid) - np.log2(prior_bpm)) / prior_octaves) ** 2)
    if not np.any(score > 0):
        return float("nan")
    return float(grid[int(np.argmax(score))])


def estimate_tempo(wav: np.ndarray, sr: int) -> TempoEstimate:
    """wav: [C, L] or [L] at ``sr`` -> beat-tracked :class:`TempoEstimate`."""
    import librosa

    y = analysis_mono(wav, sr)
    empty = np.zeros(0)
    if rms_db(y) < GATE_DB:
        return TempoEstimate(float("nan"), float("nan"), empty)
    env = onset_envelope(y)
    t0 = periodicity_tempo(env, fps=ANALYSIS_SR / TEMPO_HOP)
    if not np.isfinite(t0):
        return TempoEstimate(float("nan"), float("nan"), empty)
    _, beats = librosa.beat.beat_track(
        onset_envelope=env, sr=ANALYSIS_SR, hop_length=TEMPO_HOP, bpm=t0, units="time", trim=False
    )
    beats = np.asarray(beats, dtype=np.float64)
    bpm = t0
    if beats.size >= 4:
        slope = float(np.polyfit(np.arange(beats.size), beats, 1)[0])
        if slope > 0 and abs(60.0 / slope / t0 - 1.0) < 0.08:
            bpm = 60.0 / slope
    return TempoEstimate(float(bpm), float(t0), beats)


def tempo_matches(estimate: float, target: float, *, tolerance: float = TEMPO_TOLERANCE, octave: bool = False) -> bool:
    """True when ``estimate`` is within ``tolerance`` (relative) of ``target`` (or of x2, x1/2, x3, x1/3
    of it with ``octave``); nan never matches."""
    if not (np.isfinite(estimate) and np.isfinite(target)) or target <= 0:
        return False
    factors = OCTAVE_FACTORS if octave else (1.0,)
    return any(abs(estimate / (target * f) - 1.0) <= tolerance for f in factors)


def onset_times(wav: np.ndarray, sr: int) -> np.ndarray:
    """wav: [C, L] or [L] -> onset times in seconds [N] (librosa peak picking on 5.8 ms frames)."""
    import librosa

    y = analysis_mono(wav, sr)
    if rms_db(y) < GATE_DB:
        return np.zeros(0)
    times = librosa.onset.onset_detect(y=y, sr=ANALYSIS_SR, hop_length=ONSET_HOP, backtrack=False, units="time")
    return np.asarray(times, dtype=np.float64)


def nearest_distances_ms(events: np.ndarray, references: np.ndarray) -> np.ndarray:
    """|event - nearest reference| in ms for each event [N]; empty when either side is empty."""
    events, refs = np.asarray(events, np.float64), np.sort(np.asarray(references, np.float64))
    if events.size == 0 or refs.size == 0:
        return np.zeros(0)
    idx = np.searchsorted(refs, events)
    left, right = refs[np.clip(idx - 1, 0, refs.size - 1)], refs[np.clip(idx, 0, refs.size - 1)]
    return np.minimum(np.abs(events - left), np.abs(events - right)) * 1000.0


def onset_alignment_ms(bass: np.ndarray, drums: np.ndarray, sr: int) -> float | None:
    """Median distance (ms) from each bass onset to the nearest drum onset; None without onsets.

    bass, drums: [C, L] or [L] at ``sr``."""
    d = nearest_distances_ms(onset_times(bass, sr), onset_times(drums, sr))
    return float(np.median(d)) if d.size else None


def grid_alignment_ms(
    wav: np.ndarray, sr: int, *, bpm: float, subdivision: int = 4, offset: float = 0.0
) -> float | None:
    """Median distance (ms) from each onset of ``wav`` to the nearest position of the ``bpm`` grid
    (``subdivision`` positions per beat, starting at ``offset`` s: clips start on a downbeat)."""
    onsets = onset_times(wav, sr)
    if onsets.size == 0 or not bpm > 0:
        return None
    step = 60.0 / bpm / subdivision
    grid = offset + step * np.arange(int(np.ceil((onsets.max() - offset) / step)) + 2)
    return float(np.median(nearest_distances_ms(onsets, grid)))
