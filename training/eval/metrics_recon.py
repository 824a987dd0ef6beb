"""Reconstruction distances between a reference waveform and an estimate of it.

- SI-SDR (dB, higher is better): scale-invariant signal-to-distortion ratio per channel, averaged.
- mel distance (lower is better): mean |log10 mel(ref) - log10 mel(est)| (80 bands, 2048/512 STFT,
  magnitudes floored at 1e-5), averaged over channels.
- multi-resolution STFT distance (lower is better): for FFT sizes 512, 1024, 2048 (hop = size / 4,
  Hann), spectral convergence ||S_ref - S_est||_F / ||S_ref||_F plus mean |log S_ref - log S_est| (magnitudes
  floored at 1e-5),
  averaged over resolutions and channels (Yamamoto et al. 2020).

All take float arrays [C, L] (or [L]) of equal shape at one sample rate.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

EPS = 1e-12
MEL_FLOOR = 1e-5
MAG_FLOOR = 1e-5
MRSTFT_SIZES = (512, 1024, 2048)


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, est = np.atleast_2d(np.asarray(reference, np.float64)), np.atleast_2d(np.asarray(estimate, np.float64))
    if ref.shape != est.shape:
        raise ValueError(f"reference {ref.shape} and estimate {est.shape} differ in shape")
    return ref, est


def si_sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB, mean over channels. Identical signals give ~+200 dB (finite)."""
    ref, est = _pair(reference, estimate)
    out = []
    for r, e in zip(ref, est, strict=True):
        r, e = r - r.mean(), e - e.mean()
        alpha = float(np.dot(e, r)) / (float(np.dot(r, r)) + EPS)
        target = alpha * r
        noise = e - target
        out.append(10.0 * np.log10((float(np.dot(target, target)) + EPS) / (float(np.dot(noise, noise)) + EPS)))
    return float(np.mean(out))


def _stft_mag(x: np.ndarray, n_fft: int) -> np.ndarray:
    """x: [C, L] -> float32 |STFT| [C, n_fft // 2 + 1, F] (Hann, hop n_fft / 4, centred, reflect-padded)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    spec = torch.stft(
        t, n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft), center=True, return_complex=True
    )
    return spec.abs().numpy()


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def mrstft_distance(reference: np.ndarray, estimate: np.ndarray, *, fft_sizes: tuple[int, ...] = MRSTFT_SIZES) -> float:
    """Multi-resolution STFT distance (spectral convergence + log-magnitude L1), mean over sizes and channels."""
    ref, est = _pair(reference, estimate)
    vals = []
    for n in fft_sizes:
        mr_, me = _stft_mag(ref, n), _stft_mag(est, n)
        for r, e in zip(mr_, me, strict=True):
            sc = np.linalg.norm(r - e) / (np.linalg.norm(r) + 1e-7)
            lm = np.mean(np.abs(np.log(np.maximum(r, MAG_FLOOR)) - np.log(np.maximum(e, MAG_FLOOR))))
            vals.append(float(sc + lm))
    return float(np.mean(vals))


def mel_distance(reference: np.ndarray, estimate: np.ndarray, sr: int) -> float:
    """Mean absolute log10-mel difference (80 bands, magnitude mel of a 2048/512 STFT), averaged over channels."""
    ref, est = _pair(reference, estimate)
    basis = _mel_basis(sr, 2048, 80)
    mr_, me = (np.einsum("mf,cft->cmt", basis, _stft_mag(x, 2048)) for x in (ref, est))
    return float(np.mean(np.abs(np.log10(np.maximum(mr_, MEL_FLOOR)) - np.log10(np.maximum(me, MEL_FLOOR)))))


def reconstruction_metrics(reference: np.ndarray, estimate: np.ndarray, sr: int) -> dict[str, float]:
    """{'mel_distance', 'mrstft_distance', 'si_sdr_db'} of estimate vs reference ([C, L] each)."""
    return {
        "mel_distance": mel_distance(reference, estimate, sr),
        "mrstft_distance": mrstft_distance(reference, estimate),
        "si_sdr_db": si_sdr_db(reference, estimate),
    }
