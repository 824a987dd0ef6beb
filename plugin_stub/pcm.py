"""Wire PCM (little-endian interleaved float32 or signed int24) and the sample grids of WAV bit depths.

Arrays are float32 ``[C, N]`` (channels first). Integer formats map ``k <-> k / 2**(bits-1)`` (as libsndfile
and DAWs do), so a 24-bit stem received as int24 is written to a 24-bit file without any change.
"""

from __future__ import annotations

import numpy as np

from plugin_stub.errors import StubError

FLOAT32, INT24 = "float32", "int24"
BIT_DEPTHS = (16, 24, 32)  # 16/24: integer PCM; 32: IEEE float


def bytes_per_sample(fmt: str) -> int:
    return 4 if fmt == FLOAT32 else 3


def decode(data: bytes, *, channels: int, fmt: str) -> np.ndarray:
    """Interleaved PCM bytes -> ``[channels, N]`` float32."""
    frame = channels * bytes_per_sample(fmt)
    if channels < 1 or len(data) % frame:
        raise StubError(f"received PCM of {len(data)} bytes is not whole {channels}-channel {fmt} frames")
    if fmt == FLOAT32:
        inter = np.frombuffer(data, dtype="<f4").reshape(-1, channels)
    else:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        wide = np.zeros((raw.shape[0], 4), dtype=np.uint8)
        wide[:, 1:] = raw
        ints = wide.view("<i4").reshape(-1) >> 8  # sign-extends
        inter = (ints / 8388608.0).astype(np.float32).reshape(-1, channels)
    if not np.isfinite(inter).all():
        raise StubError("received PCM holds NaN or infinite samples")
    return np.ascontiguousarray(inter.T)


def encode_float32(audio: np.ndarray) -> bytes:
    """``[C, N]`` -> interleaved little-endian float32 bytes."""
    return np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T).astype("<f4").tobytes()


def to_ints(audio: np.ndarray, bits: int) -> np.ndarray:
    """``[C, N]`` float -> int32 ``[C, N]`` on the ``bits``-bit grid (round to nearest, clipped)."""
    scale = float(1 << (bits - 1))
    return np.clip(np.round(np.asarray(audio, dtype=np.float64) * scale), -scale, scale - 1).astype(np.int32)


def quantize(audio: np.ndarray, bit_depth: int) -> np.ndarray:
    """``[C, N]`` -> float32 holding exactly what a ``bit_depth`` WAV stores (unchanged for 32-bit float)."""
    if bit_depth not in BIT_DEPTHS:
        raise StubError(f"bit depth {bit_depth} is not supported: use 16, 24 or 32 (float)")
    if bit_depth == 32:
        return np.ascontiguousarray(audio, dtype=np.float32)
    return (to_ints(audio, bit_depth) / float(1 << (bit_depth - 1))).astype(np.float32)
