"""Audio helpers shared by the data package: reading, stereo, resampling, loudness.

Arrays are channel-first: ``[C, n]`` for one signal, ``[S, 2, n]`` for stems.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SILENCE_DB = -50.0  # a stem quieter than this (RMS, dBFS) counts as silent and is never boosted


def read_audio(path: str | Path, *, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Read ``frames`` frames from ``start``: (float32 ``[C, n]``, sample rate)."""
    data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(sr)


def to_stereo(x: np.ndarray) -> np.ndarray:
    """``[C, n]`` -> ``[2, n]``: mono is duplicated, extra channels are dropped."""
    if x.shape[0] == 1:
        return np.repeat(x, 2, axis=0)
    return x[:2]


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling with soxr: ``[C, n]`` at ``sr_in`` -> ``[C, m]`` at ``sr_out``."""
    if sr_in == sr_out:
        return x
    import soxr

    y = soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality="HQ")
    return np.ascontiguousarray(np.asarray(y, dtype=x.dtype).T.reshape(x.shape[0], -1))


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the last axis to ``length``."""
    n = x.shape[-1]
    if n == length:
        return x
    if n > length:
        return x[..., :length]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, length - n)]
    return np.pad(x, pad)


def rms_db(x: np.ndarray) -> float:
    """RMS level of a signal in dBFS (over all channels); -inf for digital silence."""
    ms = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    return 10.0 * np.log10(ms) if ms > 0 else float("-inf")


def normalize_stems(
    stems: np.ndarray,
    *,
    target_db: float = -23.0,
    silence_db: float = SILENCE_DB,
    peak: float | None = 0.99,
) -> np.ndarray:
    """Bring every non-silent stem of ``stems`` [S, 2, n] to ``target_db`` RMS; silent stems stay as they are.

    A stem below ``silence_db`` counts as silent (its gain is 1). When ``peak`` is set and the
    stems' sum (the mix) or any stem would exceed it, every stem is scaled by the same factor,
    so the stems keep equal loudness and the mix stays unclipped.
    """
    out = stems.astype(np.float32, copy=True)
    for i in range(out.shape[0]):
        level = rms_db(out[i])
        if level > silence_db:
            out[i] *= np.float32(10.0 ** ((target_db - level) / 20.0))
    if peak is not None:
        top = max(float(np.max(np.abs(out.sum(axis=0)))), float(np.max(np.abs(out)))) if out.size else 0.0
        if top > peak:
            out *= np.float32(peak / top)
    return out


def apply_loudness(tracks: np.ndarray, mode: str, *, target_db: float = -23.0) -> np.ndarray:
    """Loudness handling of a [5, 2, n] array (bass, drums, instrument, melody, mix).

    ``stem``: every non-silent stem to ``target_db`` RMS (:func:`normalize_stems`), mix = their sum;
    ``mix``: one gain for all tracks so the mix sits at ``target_db`` (the balance kept), then one
    peak guard at 0.99; ``none``: unchanged.
    """
    if mode == "stem":
        stems = normalize_stems(tracks[:4], target_db=target_db)
        return np.concatenate([stems, stems.sum(axis=0, keepdims=True)])
    if mode == "mix":
        mix_rms = float(np.sqrt(np.mean(np.square(tracks[4], dtype=np.float64))))
        if mix_rms > 10 ** (-60 / 20):
            tracks = tracks * np.float32(10 ** (target_db / 20) / mix_rms)
            top = float(np.max(np.abs(tracks)))
            if top > 0.99:
                tracks = tracks * np.float32(0.99 / top)
    return tracks
