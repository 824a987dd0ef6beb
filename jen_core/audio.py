"""Reading and writing audio files with clear errors; writes are atomic (temp file + rename)."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from jen_core.errors import JenError
from jen_core.files import atomic_write


def read_audio(path: str | Path, *, sample_rate: int, channels: int = 2) -> np.ndarray:
    """Read ``path`` as float32 [channels, L] at ``sample_rate`` (resampled with soxr if needed).

    Raises JenError when the file is missing, is not audio, or has another channel count.
    """
    path = Path(path)
    if not path.is_file():
        raise JenError(f"audio file {path} does not exist")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise JenError(f"{path} is not a readable audio file ({str(exc).splitlines()[0]})") from None
    if data.shape[1] != channels:
        raise JenError(f"{path} has {data.shape[1]} channel(s); this model needs {channels} (stereo)")
    if data.shape[0] == 0:
        raise JenError(f"{path} holds no samples")
    if rate != sample_rate:
        data = soxr.resample(data, rate, sample_rate, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(data.T)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write [C, L] audio as a 32-bit float WAV, atomically.

    Written by hand rather than through libsndfile, whose float WAVs carry a PEAK chunk with
    a wall-clock timestamp: the same audio must give byte-identical files (seeded generation).
    """
    data = np.ascontiguousarray(np.asarray(audio, dtype="<f4").T).tobytes()
    channels, frames = int(audio.shape[0]), int(audio.shape[1])
    fmt = struct.pack("<HHIIHHH", 3, channels, sample_rate, sample_rate * channels * 4, channels * 4, 32, 0)
    fact = struct.pack("<I", frames)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"fact", fact) + _chunk(b"data", data)
    return atomic_write(path, lambda tmp: tmp.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body))


def _chunk(tag: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""
    return tag + struct.pack("<I", len(payload)) + payload + pad


def prepare_out_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check it is a writable directory."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JenError(f"cannot create output directory {path}: {exc.strerror}") from None
    if not path.is_dir():
        raise JenError(f"output path {path} exists and is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise JenError(f"output directory {path} is not writable")
    return path


def blend_region(given: np.ndarray, generated: np.ndarray, start: int, end: int, fade: int) -> np.ndarray:
    """Given audio outside [start, end), generated inside; raised-cosine crossfades of ``fade``
    samples placed in the given audio just outside the region so no given sample is lost elsewhere."""
    length = given.shape[1]
    w = np.zeros(length, np.float32)
    w[start:end] = 1.0
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade + 2, dtype=np.float64)[1:-1]).astype(np.float32)
    lo = max(0, start - fade)
    if start > 0:
        w[lo:start] = ramp[fade - (start - lo):]
    hi = min(length, end + fade)
    if end < length:
        w[end:hi] = ramp[::-1][: hi - end]
    return (given * (1.0 - w) + generated * w).astype(np.float32)


def mix_stems(stems: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sum stems into a mix [2, L]; scaled down only if the sum would clip."""
    mix = np.sum(np.stack(list(stems.values())), axis=0).astype(np.float32)
    peak = float(np.abs(mix).max(initial=0.0))
    return mix / peak * 0.99 if peak > 0.99 else mix
