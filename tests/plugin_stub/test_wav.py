"""Broadcast-WAV files: readable by soundfile, sox and mediainfo, deterministic, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from plugin_stub.errors import StubError
from plugin_stub.pcm import quantize
from plugin_stub.wav import read_info, wav_bytes, write_wav
from tests.plugin_stub.tools import mediainfo_time_reference, sox_decodes, soxi

SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
BIG = 5_000_000_000  # needs both 32-bit halves of TimeReference (about 14 hours at 96 kHz)


def _audio(channels: int = 2, frames: int = 4801) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(rng.standard_normal((channels, frames)) * 0.4, -1.2, 1.2).astype(np.float32)


@pytest.mark.parametrize("bits", [16, 24, 32])
@pytest.mark.parametrize("channels", [1, 2])
def test_soundfile_reads_back_exactly_what_was_quantized(bits: int, channels: int, tmp_path: Path) -> None:
    audio = _audio(channels)
    path = tmp_path / "x.wav"
    write_wav(path, audio, sample_rate=96000, bit_depth=bits, time_reference=BIG, description="drums take 1")
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == 96000 and sf.info(str(path)).subtype == SUBTYPES[bits]
    np.testing.assert_array_equal(data.T, quantize(audio, bits))  # clipped and rounded, nothing else
    info = read_info(path)
    assert info.chunks == (("fmt ", "fact", "bext", "data") if bits == 32 else ("fmt ", "bext", "data"))
    assert (info.time_reference, info.frames, info.channels, info.bits) == (BIG, 4801, channels, bits)
    assert b"PEAK" not in path.read_bytes()


def test_bytes_depend_only_on_audio_and_position() -> None:
    a = wav_bytes(_audio(), sample_rate=48000, bit_depth=32, time_reference=123)
    b = wav_bytes(_audio(), sample_rate=48000, bit_depth=32, time_reference=123)
    c = wav_bytes(_audio(), sample_rate=48000, bit_depth=32, time_reference=124)
    assert a == b and a != c


@pytest.mark.parametrize("bits", [16, 24, 32])
def test_sox_soxi_and_mediainfo_read_the_files(bits: int, tmp_path: Path) -> None:
    path = tmp_path / f"s{bits}.wav"
    write_wav(path, _audio(), sample_rate=44100, bit_depth=bits, time_reference=BIG + bits)
    fields = soxi(path)
    assert fields["rate"] == "44100" and fields["channels"] == "2" and fields["samples"] == "4801"
    assert fields["bits"] == str(bits)
    assert ("Floating Point" if bits == 32 else "Signed Integer") in fields["encoding"]
    assert sox_decodes(path) == 2 * 4801
    assert mediainfo_time_reference(path) == BIG + bits


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keep.txt").write_text("mine")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_wav(tmp_path / "drums.wav", _audio(), sample_rate=48000, bit_depth=24, time_reference=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]  # no partial file, no temporary file


def test_refuses_what_a_wav_cannot_hold() -> None:
    with pytest.raises(StubError, match="bit depth 8"):
        wav_bytes(_audio(), sample_rate=48000, bit_depth=8)
    with pytest.raises(StubError, match="channels, frames"):
        wav_bytes(np.zeros(10), sample_rate=48000, bit_depth=16)
    with pytest.raises(StubError, match="time reference"):
        wav_bytes(_audio(), sample_rate=48000, bit_depth=16, time_reference=-1)
