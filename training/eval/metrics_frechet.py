"""Frechet distance between two sets of audio on a fixed, offline embedding.

Embedding (no learned weights, nothing downloaded): the clip is cut into 1-s windows every
0.5 s (one window for shorter clips); per window, the mean and standard deviation over time of
a 64-band log-mel spectrogram (22.05 kHz, 1024/256 STFT, log10 of power + 1e-6) give 128
numbers, and a fixed orthonormal random projection (numpy seed 0) maps them to 32 dims. It
captures spectral balance and its variation, not musical structure: figures are comparable
between runs of this harness only. Report it as "Frechet distance on log-mel statistics
(random projection, 32-d)".
"""

from __future__ import annotations

import numpy as np

from training.eval.signal import ANALYSIS_SR, analysis_mono

EMBEDDING_NAME = "log-mel statistics (64 bands, 1-s windows, mean+std, fixed random projection to 32-d)"
EMBED_DIM = 32
N_MELS = 64
WINDOW_S, HOP_S = 1.0, 0.5
_PROJECTION: np.ndarray | None = None


def projection() -> np.ndarray:
    """The fixed [2 * N_MELS, EMBED_DIM] orthonormal projection (seed 0)."""
    global _PROJECTION
    if _PROJECTION is None:
        gauss = np.random.default_rng(0).standard_normal((2 * N_MELS, EMBED_DIM))
        _PROJECTION = np.linalg.qr(gauss)[0]
    return _PROJECTION


def embed(wav: np.ndarray, sr: int) -> np.ndarray:
    """wav: [C, L] or [L] at ``sr`` -> window embeddings [N, 32]."""
    import librosa

    y = analysis_mono(wav, sr)
    if y.size < 1024:
        y = np.pad(y, (0, 1024 - y.size))
    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_SR, n_fft=1024, hop_length=256, n_mels=N_MELS)
    logmel = np.log10(mel + 1e-6)
    fps = ANALYSIS_SR / 256
    win, hop = int(round(WINDOW_S * fps)), int(round(HOP_S * fps))
    starts = range(0, max(logmel.shape[1] - win, 0) + 1, hop)
    feats = [np.concatenate([logmel[:, s : s + win].mean(1), logmel[:, s : s + win].std(1)]) for s in starts]
    return np.stack(feats) @ projection()


def frechet_distance(a: np.ndarray, b: np.ndarray, *, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to embeddings a: [N, D] and b: [M, D] (N, M >= 1)."""
    from scipy import linalg

    a, b = np.atleast_2d(np.asarray(a, np.float64)), np.atleast_2d(np.asarray(b, np.float64))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding widths differ: {a.shape[1]} vs {b.shape[1]}")
    dim = a.shape[1]
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a = np.cov(a, rowvar=False) if a.shape[0] > 1 else np.zeros((dim, dim))
    cov_b = np.cov(b, rowvar=False) if b.shape[0] > 1 else np.zeros((dim, dim))
    cov_a, cov_b = cov_a + eps * np.eye(dim), cov_b + eps * np.eye(dim)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    covmean = np.real(covmean)
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)
