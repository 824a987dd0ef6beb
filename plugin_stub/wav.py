"""Broadcast-WAV files written byte by byte: ``fmt``, (``fact``), ``bext`` with the time reference, ``data``.

Why by hand: libsndfile adds a ``PEAK`` chunk with a wall-clock timestamp to float files, so the same audio
would give different bytes on every run, and it cannot write a ``bext`` time reference. Here the bytes depend
only on the audio and its position. ``TimeReference`` is the file's first sample counted from the timeline
start (EBU Tech 3285), which DAWs use for "import at original position".

Formats: 16- and 24-bit integer PCM (``WAVE_FORMAT_PCM``) and 32-bit float (``WAVE_FORMAT_IEEE_FLOAT``, with the
``fact`` chunk the spec asks for). Files stay under 4 GiB (no RF64).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plugin_stub.atomic import atomic_write
from plugin_stub.errors import StubError
from plugin_stub.pcm import BIT_DEPTHS, to_ints

BEXT_SIZE = 602  # fixed part of the bext chunk (version 1, no coding history)
_PCM, _FLOAT = 1, 3


def _chunk(cid: bytes, body: bytes) -> bytes:
    pad = b"\x00" if len(body) % 2 else b""
    return cid + struct.pack("<I", len(body)) + body + pad


def bext_body(time_reference: int, *, description: str = "", originator: str = "jen-stub",
              coding_history: str = "") -> bytes:
    """The ``bext`` chunk body (EBU Tech 3285 v1) with ``TimeReference = time_reference`` samples."""
    if not 0 <= time_reference < 2**64:
        raise StubError(f"bext time reference {time_reference} must be a sample count >= 0")
    body = bytearray(BEXT_SIZE)
    body[0:256] = description.encode("ascii", "replace")[:256].ljust(256, b"\x00")
    body[256:288] = originator.encode("ascii", "replace")[:32].ljust(32, b"\x00")
    # OriginatorReference, OriginationDate and OriginationTime stay empty: the bytes must not depend on the clock.
    struct.pack_into("<QH", body, 338, int(time_reference), 1)  # TimeReferenceLow/High, Version
    return bytes(body) + coding_history.encode("ascii", "replace")


def wav_bytes(audio: np.ndarray, *, sample_rate: int, bit_depth: int, time_reference: int | None = None,
              description: str = "") -> bytes:
    """Encode ``audio: [C, N]`` (float, -1..1) as a WAV file; with a ``bext`` chunk when ``time_reference`` is set."""
    if bit_depth not in BIT_DEPTHS:
        raise StubError(f"bit depth {bit_depth} is not supported: use 16, 24 or 32 (float)")
    audio = np.asarray(audio)
    if audio.ndim != 2 or not 1 <= audio.shape[0] <= 8:
        raise StubError(f"audio must be [channels, frames] with 1-8 channels, got shape {audio.shape}")
    channels, frames = int(audio.shape[0]), int(audio.shape[1])
    width = bit_depth // 8
    inter = np.ascontiguousarray(audio.T)  # [N, C]
    if bit_depth == 32:
        data = inter.astype("<f4").tobytes()
    elif bit_depth == 16:
        data = to_ints(inter, 16).astype("<i2").tobytes()
    else:
        data = to_ints(inter, 24).astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    tag = _FLOAT if bit_depth == 32 else _PCM
    fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * channels * width, channels * width, bit_depth)
    if tag == _FLOAT:
        fmt += struct.pack("<H", 0)  # cbSize: non-PCM formats carry it
    chunks = [_chunk(b"fmt ", fmt)]
    if tag == _FLOAT:
        chunks.append(_chunk(b"fact", struct.pack("<I", frames)))
    if time_reference is not None:
        history = f"A=PCM,F={sample_rate},W={bit_depth},M={'mono' if channels == 1 else 'stereo'},T=jen-stub\r\n"
        if tag == _FLOAT:
            history = history.replace("A=PCM", "A=PCM(float)")
        chunks.append(_chunk(b"bext", bext_body(time_reference, description=description, coding_history=history)))
    chunks.append(_chunk(b"data", data))
    body = b"WAVE" + b"".join(chunks)
    if len(body) >= 2**32:
        raise StubError(f"{frames} frames do not fit in a WAV file (4 GiB): write a shorter region")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(path: Path, audio: np.ndarray, *, sample_rate: int, bit_depth: int, time_reference: int | None = None,
              description: str = "") -> None:
    """Atomically write ``audio: [C, N]`` to ``path`` (see :func:`wav_bytes`)."""
    atomic_write(path, wav_bytes(audio, sample_rate=sample_rate, bit_depth=bit_depth, time_reference=time_reference,
                                 description=description))


@dataclass(frozen=True)
class WavInfo:
    """What :func:`read_info` found: chunk ids in order, format and the bext time reference (None without bext)."""

    chunks: tuple[str, ...]
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    frames: int
    time_reference: int | None


def read_info(path: Path) -> WavInfo:
    """Walk the RIFF chunks of a WAV file (an independent reader: it does not use libsndfile)."""
    raw = Path(path).read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise StubError(f"{path} is not a RIFF/WAVE file")
    pos, end = 12, min(len(raw), 8 + struct.unpack_from("<I", raw, 4)[0])
    chunks: list[str] = []
    fmt: tuple[int, ...] | None = None
    data_size, time_reference = None, None
    while pos + 8 <= end:
        cid, size = raw[pos:pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body = raw[pos + 8 : pos + 8 + size]
        chunks.append(cid.decode("latin-1"))
        if cid == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", body)
        elif cid == b"data":
            data_size = size
        elif cid == b"bext" and size >= 346:
            time_reference = struct.unpack_from("<Q", body, 338)[0]
        pos += 8 + size + (size % 2)
    if fmt is None or data_size is None:
        raise StubError(f"{path} has no fmt or data chunk")
    tag, channels, rate, _, block, bits = fmt
    return WavInfo(tuple(chunks), tag, channels, rate, bits, data_size // block, time_reference)
