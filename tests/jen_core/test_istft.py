"""The inverse-STFT decoder (``AutoencoderConfig.decoder = "istft"``): the fixed inverse DFT inverts
torch.stft, and the codec built on it keeps the protocol's shapes, exact chunked decoding, a bounded
receptive field and a plain ONNX export."""

from __future__ import annotations

import dataclasses
import importlib.util
import math

import numpy as np
import pytest
import torch

from jen_core.autoencoder import build_autoencoder
from jen_core.autoencoder.istft import InverseSTFT
from jen_core.errors import JenError
from jen_core.latents import LatentWhitener
from jen_core.presets import get_preset

TINY_ISTFT = dataclasses.replace(get_preset("tiny").autoencoder, decoder="istft")  # hop 320 -> STFT hop 80


def make(seed: int = 0):
    torch.manual_seed(seed)
    return build_autoencoder(TINY_ISTFT).eval()


def test_inverse_stft_inverts_torch_stft() -> None:
    hop = 32
    istft = InverseSTFT(hop).double()
    g = torch.Generator().manual_seed(0)
    x = 0.3 * torch.sin(2 * math.pi * 440 * torch.arange(4096) / 48000) + 0.02 * torch.randn(4096, generator=g)
    x = x.double()
    spec = torch.stft(x, istft.n_fft, hop_length=hop, window=torch.hann_window(istft.n_fft, dtype=torch.float64),
                      center=True, return_complex=True)  # frame m centred on sample m * hop
    y = istft(torch.cat([spec.abs().clamp_min(1e-12).log(), spec.angle()])[None])[0]
    # Frame m's window is centred on output sample m * hop + hop / 2: y is x delayed by hop / 2.
    inner = slice(istft.n_fft, 4096 - istft.n_fft)
    delayed = y[hop // 2 :][: 4096]
    assert torch.allclose(delayed[inner], x[inner], atol=1e-5)  # the basis is stored in float32


def test_inverse_stft_clips_the_magnitude() -> None:
    istft = InverseSTFT(8)
    wav = istft(torch.full((1, 2 * istft.bins, 6), 50.0))  # exp(50) would overflow float32 downstream
    assert torch.isfinite(wav).all() and wav.abs().max() < 1e3


def test_istft_codec_shapes_and_chunked_decode() -> None:
    m = make()
    assert m.hop == 320
    z = m.encode(torch.randn(2, 2, 320 * 30 - 11))
    assert z.shape == (2, 8, 30)
    with torch.no_grad():
        wav = m.decode(z)
        assert wav.shape == (2, 2, 320 * 30) and torch.isfinite(wav).all() and wav.abs().max() > 0
        for chunk in (1, 7, 30):
            torch.testing.assert_close(m.decode_chunked(z, chunk_frames=chunk), wav, atol=1e-5, rtol=0)
        assert (m.decode_chunked(z, chunk_frames=7, overlap_frames=0) - wav).abs().max() > 1e-4


@torch.no_grad()
def test_istft_receptive_field_bounds_the_influence_of_a_frame() -> None:
    m = make().double()
    z = torch.randn(1, 8, 40, generator=torch.Generator().manual_seed(1)).double()
    j, r = 20, m.decoder_receptive_frames
    bumped = z.clone()
    bumped[..., j] += 5.0
    changed = ((m.decode(bumped) - m.decode(z)).abs().amax(dim=(0, 1)) > 0).nonzero().flatten()
    first, last = int(changed.min()) // m.hop, int(changed.max()) // m.hop
    assert j - r <= first <= j and j <= last <= j + r
    assert last - first >= 2  # the bound is not vacuous: a frame reaches its neighbours


def test_istft_gradient_reaches_the_encoder() -> None:
    m = make().train()
    recon, _ = m(torch.randn(2, 2, 3200))
    recon.abs().mean().backward()
    assert m.encoder[0].weight.grad.abs().sum() > 0 and m.decoder[-1].proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("upsample", [0, 3, 320])
def test_bad_istft_upsample_is_a_clear_error(upsample: int) -> None:
    with pytest.raises(JenError, match="istft_upsample"):
        build_autoencoder(dataclasses.replace(TINY_ISTFT, istft_upsample=upsample))


def test_unknown_decoder_is_a_clear_error() -> None:
    with pytest.raises(JenError, match="decoder must be one of"):
        build_autoencoder(dataclasses.replace(TINY_ISTFT, decoder="wavenet"))


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime not installed")
def test_istft_decoder_exports_to_onnx(tmp_path) -> None:
    import onnxruntime as ort

    from export.graphs import DecoderGraph

    m = make()
    z = torch.randn(1, 8, 12, generator=torch.Generator().manual_seed(2))

    graph = DecoderGraph(m, LatentWhitener(8, 8)).eval()  # the export's graph; identity whitening
    path = tmp_path / "decoder.onnx"
    torch.onnx.export(graph, (z,), str(path), dynamo=False, opset_version=17, input_names=["z"],
                      output_names=["wav"], dynamic_axes={"z": {0: "b", 2: "s"}, "wav": {0: "b", 2: "l"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    longer = torch.randn(2, 8, 20, generator=torch.Generator().manual_seed(3))
    got = session.run(None, {"z": longer.numpy()})[0]
    with torch.no_grad():
        want = m.decode(longer).numpy()
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4 * max(1e-6, np.abs(want).max())
