"""The fixed log-band analysis encoder (``AutoencoderConfig.encoder = "logmel"``): band layout, what the
latent means (loudness, pitch, side), exact chunked encoding, and its ONNX export."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import warnings

import numpy as np
import pytest
import torch

from jen_core.autoencoder import build_autoencoder
from jen_core.autoencoder.spectral import LOG_FLOOR, mel_filterbank
from jen_core.errors import JenError
from jen_core.latents import LatentWhitener
from jen_core.presets import get_preset
from training.encode import encode_chunked

SR = 48000
CFG = dataclasses.replace(get_preset("tiny").autoencoder, encoder="logmel", decoder="istft", latent_dim=40)  # hop 320


def tone(freq: float, seconds: float = 0.5, amp: float = 0.3, pan: float = 0.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    x = amp * torch.sin(2 * math.pi * freq * t)
    return torch.stack([(1 - pan) * x, (1 + pan) * x]).float()[None]  # [1, 2, L]


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    return build_autoencoder(CFG).eval()


def test_filterbank_covers_the_spectrum_in_rising_bands() -> None:
    fb = mel_filterbank(SR, 1280, 32, fmin=25.0, corner=150.0)
    assert fb.shape == (32, 641)
    assert bool((fb.amax(dim=1) > 0).all())  # no empty band, even below the bin spacing
    peaks = fb.argmax(dim=1)
    assert bool((peaks[1:] >= peaks[:-1]).all()) and int(peaks[-1]) > 500
    htk = mel_filterbank(SR, 1024, 32)
    assert htk.shape == (32, 513) and float(htk.max()) <= 1.0


def test_encoder_has_no_parameters_and_the_latent_layout(codec) -> None:
    assert sum(p.numel() for p in codec.encoder.parameters()) == 0
    assert (codec.encoder.mid_bands, codec.encoder.side_bands) == (32, 8)
    z = codec.encode(tone(440.0, seconds=0.3))
    assert z.shape == (1, 40, math.ceil(0.3 * SR / 320))
    silent = codec.encode(torch.zeros(1, 2, 3200))
    assert torch.allclose(silent, torch.full_like(silent, math.log(LOG_FLOOR)))


@torch.no_grad()
def test_latent_tracks_loudness_pitch_and_side(codec) -> None:
    mid = slice(0, 32)
    quiet, loud = codec.encode(tone(440.0, amp=0.03)), codec.encode(tone(440.0, amp=0.3))
    inner = slice(5, -5)
    band = int(loud[0, mid, inner].mean(dim=1).argmax())
    # 20 dB louder is log(10) more in the loudest band
    assert abs(float((loud - quiet)[0, band, inner].mean()) - math.log(10.0)) < 0.05
    low, high = codec.encode(tone(220.0)), codec.encode(tone(880.0))
    assert int(low[0, mid, inner].mean(dim=1).argmax()) < band < int(high[0, mid, inner].mean(dim=1).argmax())
    centred, panned = codec.encode(tone(440.0)), codec.encode(tone(440.0, pan=0.5))
    side_floor = math.log(LOG_FLOOR)
    assert float(centred[0, 32:].max()) == pytest.approx(side_floor)  # L = R: no side signal
    assert float(panned[0, 32:, inner].max()) > side_floor + 3.0


@torch.no_grad()
def test_chunked_encoding_is_exact(codec) -> None:
    g = torch.Generator().manual_seed(0)
    wav = 0.1 * torch.randn(2, 2, 320 * 57 - 100, generator=g)
    full = codec.encode(wav)
    torch.testing.assert_close(encode_chunked(codec, wav, chunk_frames=9), full, atol=1e-4, rtol=1e-5)


def test_logmel_needs_stereo() -> None:
    with pytest.raises(JenError, match="mid and side"):
        build_autoencoder(dataclasses.replace(CFG, channels=1))
    with pytest.raises(JenError, match="encoder must be one of"):
        build_autoencoder(dataclasses.replace(CFG, encoder="cqt"))


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed")
def test_encoder_exports_to_onnx(codec, tmp_path) -> None:
    import onnxruntime as ort

    from export.graphs import EncoderGraph

    graph = EncoderGraph(codec, LatentWhitener(40, 40)).eval()  # the export's graph; identity whitening
    path = tmp_path / "encoder.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own deprecation notes
        torch.onnx.export(graph, (tone(300.0, seconds=0.2),), str(path), dynamo=False, opset_version=17,
                          input_names=["wav"], output_names=["z"], dynamic_axes={"wav": {0: "b", 2: "l"}, "z": {0: "b", 2: "s"}})
    wav = torch.cat([tone(500.0, seconds=0.4), 0.1 * torch.randn(1, 2, int(0.4 * SR), generator=torch.Generator().manual_seed(1))])
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"wav": wav.numpy()})[0]
    with torch.no_grad():
        want = codec.encode(wav).numpy()
    assert got.shape == want.shape
    # Log magnitudes: onnxruntime's DFT leaks ~-75 dB of noise into empty high bands, which only shows
    # near the floor; 26 dB above it the two agree to 2 %.
    err = np.abs(got - want)
    assert err[want > math.log(LOG_FLOOR) + 3.0].max() < 0.02 and err.max() < 0.5
