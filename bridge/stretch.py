"""Pitch-preserving time stretch and time warp (WSOLA, numpy only).

WSOLA (waveform-similarity overlap-add, Verhelst & Roelands 1993): the output is built from
Hann-windowed ~40 ms frames at a 10 ms hop; each frame is read from the input near the position
the time map asks for, moved by at most ~10 ms so that it best continues the frame before it
(normalised cross-correlation summed over channels; one shift for all channels, so the stereo
image is kept). Pitch is unchanged and timing never drifts, because every frame is anchored to
the map. Where there is nothing to continue (the start, or after near-silence) a frame instead
places the first attack it contains exactly where the map puts it, so drum hits after a gap land
on the grid to within a sample or so; inside dense material they stay within the ~10 ms search.

``stretch`` is a constant ratio; ``warp`` follows any monotone piecewise-linear map from
output sample positions to input sample positions (used for tempo maps that change tempo
inside a region: each constant-tempo segment gets its own slope, with no seams between them).
"""

from __future__ import annotations

import math

import numpy as np

from jen_core.errors import JenError

FRAME_SECONDS = 0.04  # analysis/synthesis frame (~40 ms)
OVERLAP = 4  # frames per hop: hop = frame / OVERLAP
TOLERANCE_SECONDS = 0.01  # how far a frame may move to match the previous one


def frame_params(sample_rate: int) -> tuple[int, int, int]:
    """(frame, hop, tolerance) in samples for ``sample_rate``: ~40 ms frames, 10 ms hop, ~10 ms search."""
    hop = max(8, round(FRAME_SECONDS * sample_rate / OVERLAP))
    return OVERLAP * hop, hop, max(2, round(TOLERANCE_SECONDS * sample_rate))


def stretch(audio: np.ndarray, ratio: float, *, sample_rate: int = 48000) -> np.ndarray:
    """Time-stretch keeping pitch. audio: [C, N] -> [C, round(N * ratio)] float32.

    ``ratio`` > 1 makes the audio longer (slower), < 1 shorter (faster). ``sample_rate`` only
    sets the frame size (~40 ms).
    """
    x = as_audio(audio)
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and 0.1 <= ratio <= 10.0):
        raise JenError(f"stretch ratio must be a number in 0.1..10, got {ratio!r}")
    n = x.shape[1]
    length = int(round(n * ratio))
    if ratio == 1.0:
        return x.copy()
    return warp(x, out_knots=np.array([0.0, float(length)]), in_knots=np.array([0.0, float(n)]),
                length=length, sample_rate=sample_rate)


def warp(
    audio: np.ndarray,
    *,
    out_knots: np.ndarray,
    in_knots: np.ndarray,
    length: int,
    sample_rate: int = 48000,
) -> np.ndarray:
    """Time-warp audio along a piecewise-linear map, keeping pitch. audio: [C, N] -> [C, length] float32.

    Output sample ``out_knots[i]`` plays input sample ``in_knots[i]``; between knots the map is
    linear and outside them it extends the first/last segment. ``out_knots`` must be strictly
    increasing and ``in_knots`` non-decreasing. Input positions outside ``[0, N)`` read silence.
    """
    x = as_audio(audio)
    xk = np.asarray(out_knots, dtype=np.float64)
    yk = np.asarray(in_knots, dtype=np.float64)
    if xk.ndim != 1 or xk.shape != yk.shape or xk.size < 2:
        raise JenError("warp needs matching 1-D out_knots and in_knots with at least two points")
    if not (np.all(np.isfinite(xk)) and np.all(np.isfinite(yk))):
        raise JenError("warp knots must be finite")
    if np.any(np.diff(xk) <= 0) or np.any(np.diff(yk) < 0):
        raise JenError("warp map must be increasing: out_knots strictly, in_knots never decreasing")
    if not isinstance(length, int) or length < 0:
        raise JenError(f"warp length must be a non-negative int, got {length!r}")
    channels, n = x.shape
    if length == 0:
        return np.zeros((channels, 0), dtype=np.float32)

    frame, hop, tol = frame_params(sample_rate)
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(frame) / frame)).astype(np.float32)
    pad = frame + 2 * tol + 1
    xp = np.zeros((channels, n + 2 * pad), dtype=np.float32)
    xp[:, pad:pad + n] = x
    # continuing near-silence carries no timing information (energies are summed over channels)
    quiet = 1e-3 * frame * _energy(x) / max(n, 1)

    n_frames = -(-length // hop) + 1  # frame k is centred on output sample k * hop
    centres = _eval_map(np.arange(n_frames, dtype=np.float64) * hop, xk, yk)
    lo, hi = -pad + tol, n + pad - tol - frame  # frame starts whose search stays inside the padding
    half = frame // 2
    starts = np.clip(np.rint(centres).astype(np.int64) - half, lo, hi)

    nfft = 1 << int(math.ceil(math.log2(frame + 2 * tol)))
    penalty = 1e-4 * np.abs(np.arange(2 * tol + 1) - tol) / tol  # prefer the nominal position on ties
    out = np.zeros((channels, n_frames * hop + frame), dtype=np.float32)
    wsum = np.zeros(out.shape[1], dtype=np.float32)
    invertible = bool(np.all(np.diff(yk) > 0))
    prev = None
    for k in range(n_frames):
        s = int(starts[k])
        natural = None if prev is None else xp[:, prev + hop + pad:prev + hop + pad + frame]
        # the part of the natural continuation that this frame overlaps in the output
        if natural is None or _energy(natural[:, :frame - hop]) <= quiet:
            # nothing to continue (start, or after near-silence): if a sound starts in this frame, place its
            # attack exactly where the map puts it, so transients after gaps land on the grid
            if invertible:
                s = _anchor_onset(xp[:, s + pad:s + pad + frame], s, k * hop - half, xk, yk, tol, quiet)
        else:
            s = _best_start(xp[:, s - tol + pad:s + tol + pad + frame], natural, frame, tol, nfft, penalty) + s - tol
        o = k * hop  # output buffer is offset by half: frame k covers output [k*hop - half, k*hop + half)
        out[:, o:o + frame] += window * xp[:, s + pad:s + pad + frame]
        wsum[o:o + frame] += window
        prev = s
    y = out[:, half:half + length]
    w = wsum[half:half + length]
    return (y / np.maximum(w, 1e-3)).astype(np.float32)


def _anchor_onset(
    segment: np.ndarray, start: int, out_start: int, xk: np.ndarray, yk: np.ndarray, tol: int, quiet: float,
) -> int:
    """Frame start (within ``start`` +- tol) that puts the first attack in ``segment`` at its mapped output time.

    ``segment`` [C, frame] is the input read from ``start``; the frame's first sample plays at output ``out_start``.
    """
    if _energy(segment) <= quiet:
        return start
    mag = np.abs(segment).max(axis=0)
    onset = start + int(np.argmax(mag >= 0.25 * float(mag.max())))
    out_onset = float(_eval_map(np.array([float(onset)]), yk, xk)[0])
    return int(np.clip(round(onset - (out_onset - out_start)), start - tol, start + tol))


def _best_start(
    region: np.ndarray, template: np.ndarray, frame: int, tol: int, nfft: int, penalty: np.ndarray,
) -> int:
    """Offset in [0, 2*tol] of the frame in region [C, frame + 2*tol] that best continues template [C, frame].

    Normalised cross-correlation summed over channels (a channel sum could cancel out).
    """
    t_energy = _energy(template)
    cum = np.concatenate([[0.0], np.cumsum(np.sum(region.astype(np.float64) ** 2, axis=0))])
    seg_energy = cum[frame:frame + 2 * tol + 1] - cum[:2 * tol + 1]
    spec = np.sum(np.fft.rfft(region, nfft, axis=1) * np.conj(np.fft.rfft(template, nfft, axis=1)), axis=0)
    corr = np.fft.irfft(spec, nfft)[:2 * tol + 1]
    # the energy floor keeps near-silent candidates (and rounding noise) from scoring high
    score = corr / np.sqrt(np.maximum(seg_energy, 1e-2 * t_energy) * t_energy) - penalty
    return int(np.argmax(score))


def _energy(x: np.ndarray) -> float:
    return float(np.sum(np.square(x, dtype=np.float64)))


def _eval_map(x: np.ndarray, xk: np.ndarray, yk: np.ndarray) -> np.ndarray:
    """Piecewise-linear map through (xk, yk), extended linearly beyond both ends."""
    y = np.interp(x, xk, yk)
    left = x < xk[0]
    right = x > xk[-1]
    y[left] = yk[0] + (x[left] - xk[0]) * (yk[1] - yk[0]) / (xk[1] - xk[0])
    y[right] = yk[-1] + (x[right] - xk[-1]) * (yk[-1] - yk[-2]) / (xk[-1] - xk[-2])
    return y


def as_audio(audio: np.ndarray) -> np.ndarray:
    """Validated float32 copy/view of audio: [C, N] real, finite samples."""
    if not isinstance(audio, np.ndarray) or audio.ndim != 2:
        raise JenError("audio must be a numpy array shaped [channels, samples]")
    if audio.shape[0] < 1:
        raise JenError("audio needs at least one channel")
    if not np.issubdtype(audio.dtype, np.floating) and not np.issubdtype(audio.dtype, np.integer):
        raise JenError(f"audio must hold real numbers, got dtype {audio.dtype}")
    x = np.ascontiguousarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise JenError("audio contains NaN or infinite samples")
    return x
