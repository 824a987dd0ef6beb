"""Parity measures between backends (numpy only): SI-SDR per stem and relative error of tensors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray, *, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB of ``estimate`` against ``reference`` (any equal shapes, flattened)."""
    ref = np.asarray(reference, np.float64).ravel()
    est = np.asarray(estimate, np.float64).ravel()
    if ref.shape != est.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {estimate.shape}")
    scale = float(est @ ref) / (float(ref @ ref) + eps)
    target = scale * ref
    noise = est - target
    return float(10.0 * np.log10((float(target @ target) + eps) / (float(noise @ noise) + eps)))


def stem_si_sdr(reference: Mapping[str, np.ndarray], estimate: Mapping[str, np.ndarray]) -> dict[str, float]:
    """SI-SDR (dB) per stem; both mappings must name the same stems."""
    if set(reference) != set(estimate):
        raise ValueError(f"stems differ: {sorted(reference)} vs {sorted(estimate)}")
    return {name: si_sdr_db(reference[name], estimate[name]) for name in reference}


def relative_error(reference: np.ndarray, estimate: np.ndarray) -> float:
    """max |estimate - reference| / max |reference| (0 when both are zero)."""
    ref = np.asarray(reference, np.float64)
    scale = float(np.abs(ref).max(initial=0.0))
    diff = float(np.abs(np.asarray(estimate, np.float64) - ref).max(initial=0.0))
    return diff / scale if scale > 0 else diff
