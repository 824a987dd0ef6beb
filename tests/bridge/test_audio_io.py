from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from bridge.audio_io import (
    FLOAT32,
    INT24,
    decode_pcm,
    encode_pcm,
    quantize,
    read_wav,
    resample_to_length,
    wav_bytes,
    write_wav,
)
from jen_core.errors import JenError
from jen_core.files import sha256_file


def _audio(frames: int = 1000, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((2, frames)) * 0.3).astype(np.float32)


@pytest.mark.parametrize("fmt", [FLOAT32, INT24])
def test_pcm_round_trip_is_exact_after_quantize(fmt: str) -> None:
    audio = quantize(_audio(), fmt)
    data = encode_pcm(audio, fmt)
    assert len(data) == 1000 * 2 * (4 if fmt == FLOAT32 else 3)
    np.testing.assert_array_equal(decode_pcm(data, channels=2, fmt=fmt), audio)


def test_int24_encoding_known_values() -> None:
    audio = np.array([[1.0, -1.0, 0.5, -2.0]], dtype=np.float32)  # clipped at the ends
    data = encode_pcm(audio, INT24)
    ints = [int.from_bytes(data[i:i + 3], "little", signed=True) for i in range(0, len(data), 3)]
    assert ints == [8388607, -8388608, 4194304, -8388608]


def test_decode_rejects_partial_frames_and_nan() -> None:
    with pytest.raises(JenError, match="whole number"):
        decode_pcm(b"\x00" * 7, channels=2, fmt=FLOAT32)
    with pytest.raises(JenError, match="NaN"):
        decode_pcm(np.array([np.nan, 0], dtype="<f4").tobytes(), channels=2, fmt=FLOAT32)


@pytest.mark.parametrize("fmt", [FLOAT32, INT24])
def test_wav_file_holds_exactly_the_streamed_samples(tmp_path: Path, fmt: str) -> None:
    audio = quantize(_audio(2000, 1), fmt)
    sha = write_wav(tmp_path / "a.wav", audio, sample_rate=44100, fmt=fmt, time_reference=123456789)
    assert sha == sha256_file(tmp_path / "a.wav")
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 44100
    np.testing.assert_array_equal(back, audio)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_bext_time_reference_is_where_broadcast_wav_readers_look() -> None:
    data = wav_bytes(_audio(10), sample_rate=48000, fmt=FLOAT32, time_reference=2**33 + 5)
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEbext"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    assert struct.unpack_from("<Q", data, 20 + 338)[0] == 2**33 + 5


def test_resample_to_length_is_exact() -> None:
    out = resample_to_length(_audio(44100), 48000)
    assert out.shape == (2, 48000) and out.dtype == np.float32
