"""Small audio helpers shared by the metrics: mono mixdown, analysis-rate resampling, levels.

Every metric takes float audio ``[C, L]`` or ``[L]`` at its own rate ``sr`` and turns it into
mono at :data:`ANALYSIS_SR` (22.05 kHz, librosa's default) before measuring, so figures do not
depend on the model's output rate.
"""

from __future__ import annotations

import numpy as np
import soxr

ANALYSIS_SR = 22050
SILENCE_DB = -120.0


def to_mono(wav: np.ndarray) -> np.ndarray:
    """wav: [C, L] or [L] -> float32 [L] (channel mean)."""
    x = np.asarray(wav, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"expected audio [C, L] or [L], got shape {np.shape(wav)}")
    return x


def analysis_mono(wav: np.ndarray, sr: int, *, target_sr: int = ANALYSIS_SR) -> np.ndarray:
    """wav: [C, L] or [L] at ``sr`` -> float32 mono [L'] at ``target_sr`` (soxr, high quality)."""
    x = to_mono(wav)
    if sr != target_sr and x.size:
        x = soxr.resample(x, sr, target_sr, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(x)


def rms_db(wav: np.ndarray) -> float:
    """RMS level in dB full scale over all samples; silence gives :data:`SILENCE_DB`."""
    x = np.asarray(wav, dtype=np.float64)
    if x.size == 0:
        return SILENCE_DB
    rms = float(np.sqrt(np.mean(x * x)))
    return max(SILENCE_DB, 20.0 * np.log10(rms)) if rms > 0 else SILENCE_DB


def crop(wav: np.ndarray, length: int) -> np.ndarray:
    """[C, L] -> [C, length]: cut, or zero-pad on the right."""
    x = np.asarray(wav, dtype=np.float32)
    if x.shape[-1] >= length:
        return x[..., :length]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])]
    return np.pad(x, pad)
