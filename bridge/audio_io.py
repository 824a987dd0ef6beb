"""PCM encoding, WAV files (atomic, with a Broadcast-WAV time reference) and resampling for the bridge.

Audio arrays are float32 ``[C, N]`` (channels first). Wire PCM is little-endian interleaved ``float32`` or
signed ``int24``. An int24 stem is quantized once (:func:`quantize`) so that the streamed chunks and the WAV
file hold exactly the same samples.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from jen_core.errors import JenError

FLOAT32 = "float32"
INT24 = "int24"
FORMATS = (FLOAT32, INT24)
_INT24_SCALE = 8388608.0  # 2**23: int24 k <-> float k / 2**23 (libsndfile and DAWs agree)
_INT24_MAX = 8388607


def bytes_per_sample(fmt: str) -> int:
    return 4 if fmt == FLOAT32 else 3


def quantize(audio: np.ndarray, fmt: str) -> np.ndarray:
    """Return ``audio: [C, N]`` as it will be stored: float32, or float32 holding int24 steps (k / 2**23)."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if fmt == FLOAT32:
        return audio
    return (_int24_ints(audio) / _INT24_SCALE).astype(np.float32)


def _int24_ints(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio.astype(np.float64) * _INT24_SCALE), -_INT24_MAX - 1, _INT24_MAX).astype("<i4")


def encode_pcm(audio: np.ndarray, fmt: str) -> bytes:
    """``audio: [C, N]`` -> interleaved little-endian PCM bytes (``N * C * bytes_per_sample``)."""
    inter = np.ascontiguousarray(np.asarray(audio).T)  # [N, C]
    if fmt == FLOAT32:
        return inter.astype("<f4").tobytes()
    ints = _int24_ints(inter).reshape(-1)
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def decode_pcm(data: bytes, *, channels: int, fmt: str) -> np.ndarray:
    """Interleaved PCM bytes -> float32 ``[C, N]``; JenError when the byte count is not whole frames."""
    frame_bytes = channels * bytes_per_sample(fmt)
    if channels < 1 or len(data) % frame_bytes:
        raise JenError(f"PCM data of {len(data)} bytes is not a whole number of {channels}-channel {fmt} frames")
    if fmt == FLOAT32:
        inter = np.frombuffer(data, dtype="<f4").reshape(-1, channels)
    else:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        padded = np.zeros((raw.shape[0], 4), dtype=np.uint8)
        padded[:, 1:] = raw  # little-endian: put the 24 bits on top, then shift back down with sign
        ints = padded.view("<i4").reshape(-1) >> 8
        inter = (ints.astype(np.float64) / _INT24_SCALE).astype(np.float32).reshape(-1, channels)
    if not np.isfinite(inter).all():
        raise JenError("PCM data holds NaN or infinite samples: send finite float32 audio")
    return np.ascontiguousarray(inter.T)


def _bext_chunk(time_reference: int) -> bytes:
    """A minimal Broadcast-WAV ``bext`` chunk whose TimeReference places the file on the host timeline."""
    body = bytearray(602)
    body[0:3] = b"JEN"  # Description
    body[256:259] = b"JEN"  # Originator
    struct.pack_into("<Q", body, 338, max(0, int(time_reference)))  # TimeReferenceLow/High
    struct.pack_into("<H", body, 346, 1)  # Version
    return b"bext" + struct.pack("<I", len(body)) + bytes(body)


def wav_bytes(audio: np.ndarray, *, sample_rate: int, fmt: str, time_reference: int | None = None) -> bytes:
    """Encode ``audio: [C, N]`` as a WAV file (IEEE float or 24-bit PCM), optionally with a bext time reference."""
    import soundfile as sf

    buf = io.BytesIO()
    inter = np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T)
    if fmt == FLOAT32:
        sf.write(buf, inter, sample_rate, format="WAV", subtype="FLOAT")
    else:  # exact 24-bit words: libsndfile keeps the top 24 bits of an int32
        sf.write(buf, _int24_ints(inter) << 8, sample_rate, format="WAV", subtype="PCM_24")
    data = buf.getvalue()
    if time_reference is None or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return data
    chunk = _bext_chunk(time_reference)
    riff_size = struct.unpack_from("<I", data, 4)[0] + len(chunk)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunk + data[12:]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_wav(path: Path, audio: np.ndarray, *, sample_rate: int, fmt: str, time_reference: int | None = None) -> str:
    """Atomically write ``audio: [C, N]`` as WAV; return the SHA-256 (hex) of the file bytes."""
    data = wav_bytes(audio, sample_rate=sample_rate, fmt=fmt, time_reference=time_reference)
    atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a WAV file -> (float32 ``[C, N]``, sample rate)."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
        raise JenError(f"cannot read audio file {path}: {exc}") from exc
    return np.ascontiguousarray(data.T), int(rate)


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """``[1|2, N]`` -> ``[2, N]``."""
    if audio.shape[0] == 2:
        return audio
    if audio.shape[0] == 1:
        return np.repeat(audio, 2, axis=0)
    raise JenError(f"audio has {audio.shape[0]} channels; send mono or stereo")


def resample_to_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """Resample ``audio: [C, N]`` so it has exactly ``frames`` frames (soxr; a rate change is a length change)."""
    import soxr

    n = audio.shape[1]
    if n == frames:
        return np.ascontiguousarray(audio, dtype=np.float32)
    if n == 0 or frames <= 0:
        return np.zeros((audio.shape[0], max(frames, 0)), dtype=np.float32)
    out = soxr.resample(np.ascontiguousarray(audio.T, dtype=np.float32), n, frames, quality="HQ").T
    if out.shape[1] < frames:
        out = np.pad(out, ((0, 0), (0, frames - out.shape[1])))
    return np.ascontiguousarray(out[:, :frames], dtype=np.float32)
