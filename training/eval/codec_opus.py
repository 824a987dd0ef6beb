"""Opus at the latent's bitrate: the reference codec beside the autoencoder.

The latent bitrate of a model is ``frame_rate * k * 16`` bit/s (k whitened channels of 16-bit
values per latent frame). Encoders, in order of preference:

- ``ffmpeg`` with libopus (Debian's ffmpeg; constant bitrate at the target, ``-b:a N -vbr off``);
- libsndfile's Ogg/Opus writer through ``soundfile`` (already a dependency; its compression
  level maps linearly onto 6-256 kbit/s per channel, so the target is set through that map).

Debian's ``sox`` decodes Opus but cannot encode it, so it is not used. The bitrate actually
achieved (file bits / duration, container overhead included) is reported beside the target.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

OPUS_RATE = 48000
MIN_PER_CHANNEL, SPAN_PER_CHANNEL = 6000.0, 250000.0  # libsndfile: bitrate = ((1 - level) * 250000 + 6000) * channels


@dataclass(frozen=True)
class OpusResult:
    """audio: decoded float32 [C, L] (same shape as the input); bitrate: achieved bit/s; backend name."""

    audio: np.ndarray
    bitrate: float
    backend: str


def latent_bitrate(*, frame_rate: float, k: int, bits: int = 16) -> float:
    """Bits per second of the whitened latent: frame_rate * k * bits."""
    return float(frame_rate) * int(k) * int(bits)


def _has_ffmpeg_libopus() -> bool:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libopus" in out


def _has_libsndfile_opus() -> bool:
    try:
        return "OPUS" in sf.available_subtypes("OGG")
    except Exception:  # noqa: BLE001 - an old libsndfile raises all sorts here
        return False


def opus_backend() -> tuple[str | None, str]:
    """(backend name or None, a note saying which one is used or why none is)."""
    if _has_ffmpeg_libopus():
        return "ffmpeg", "Opus via ffmpeg/libopus"
    if _has_libsndfile_opus():
        return "libsndfile", "Opus via libsndfile (soundfile); target bitrate set through its compression-level map"
    return None, "no Opus encoder: install Debian's ffmpeg (apt-get install ffmpeg) or a libsndfile with Opus"


def _ffmpeg(audio: np.ndarray, bitrate: float) -> tuple[np.ndarray, int]:
    channels = audio.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        ogg = Path(tmp) / "x.ogg"
        raw = np.ascontiguousarray(audio.T, dtype="<f4").tobytes()
        base = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(
            [*base, "-f", "f32le", "-ar", str(OPUS_RATE), "-ac", str(channels), "-i", "pipe:0",
             "-c:a", "libopus", "-b:a", str(int(bitrate)), "-vbr", "off", str(ogg)],
            input=raw, check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        dec = subprocess.run(
            [*base, "-i", str(ogg), "-f", "f32le", "-ar", str(OPUS_RATE), "-ac", str(channels), "pipe:1"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        size = ogg.stat().st_size
    out = np.frombuffer(dec.stdout, dtype="<f4").reshape(-1, channels).T
    return out, size


def _libsndfile(audio: np.ndarray, bitrate: float) -> tuple[np.ndarray, int]:
    channels = audio.shape[0]
    per_channel = bitrate / channels
    level = float(np.clip(1.0 - (per_channel - MIN_PER_CHANNEL) / SPAN_PER_CHANNEL, 0.0, 1.0))
    buf = io.BytesIO()
    sf.write(buf, audio.T, OPUS_RATE, format="OGG", subtype="OPUS", compression_level=level)
    size = buf.tell()
    buf.seek(0)
    out, _ = sf.read(buf, dtype="float32", always_2d=True)
    return out.T, size


def opus_roundtrip(audio: np.ndarray, sr: int, *, bitrate: float, backend: str) -> OpusResult:
    """Encode ``audio`` [C, L] at ``bitrate`` bit/s with Opus and decode it back to [C, L] at ``sr``."""
    import soxr

    x = np.asarray(audio, dtype=np.float32)
    length = x.shape[1]
    if sr != OPUS_RATE:
        x = soxr.resample(x.T, sr, OPUS_RATE).T
    if backend == "ffmpeg":
        out, size = _ffmpeg(x, bitrate)
    elif backend == "libsndfile":
        out, size = _libsndfile(x, bitrate)
    else:
        raise ValueError(f"unknown Opus backend '{backend}'")
    if sr != OPUS_RATE:
        out = soxr.resample(np.ascontiguousarray(out.T), OPUS_RATE, sr).T
    out = np.ascontiguousarray(out, dtype=np.float32)
    out = out[:, :length] if out.shape[1] >= length else np.pad(out, ((0, 0), (0, length - out.shape[1])))
    return OpusResult(audio=out, bitrate=size * 8.0 / (length / sr), backend=backend)
