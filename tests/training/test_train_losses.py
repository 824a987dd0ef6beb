"""Autoencoder losses and reconstruction metrics."""

from __future__ import annotations

import math

import torch

from training.losses import (
    MultiResolutionSTFTLoss,
    MultiScaleMelLoss,
    MultiScaleSTFTDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    mel_filterbank,
    waveform_l1,
)
from training.metrics import mrstft_distance, si_sdr


def _signal(n: int = 4096) -> torch.Tensor:
    t = torch.arange(n) / 48000
    x = torch.sin(2 * math.pi * 440 * t) + 0.5 * torch.sin(2 * math.pi * 1250 * t)
    return torch.stack([x, 0.8 * x])[None]  # [1, 2, n]


def test_mrstft_is_zero_for_identical_audio_and_grows_with_error() -> None:
    loss = MultiResolutionSTFTLoss((512, 128))
    x = _signal()
    g = torch.Generator().manual_seed(0)
    small = loss(x + 0.01 * torch.randn(x.shape, generator=g), x)
    large = loss(x + 0.3 * torch.randn(x.shape, generator=g), x)
    assert float(loss(x, x)) < 1e-5 and 0 < float(small) < float(large)
    assert abs(mrstft_distance(x, x, ffts=(512, 128))) < 1e-5
    assert float(waveform_l1(x + 0.5, x)) == 0.5


def test_mel_filterbank_is_triangles_covering_the_spectrum() -> None:
    fb = mel_filterbank(48000, 1024, 32)
    assert fb.shape == (32, 513) and float(fb.min()) >= 0.0
    peaks = fb.argmax(dim=1)
    assert bool((peaks[1:] > peaks[:-1]).all())  # centres rise
    assert float(fb.max()) <= 1.0 + 1e-6 and float(fb.amax(dim=1).min()) > 0.5
    assert float(fb[:, 5:500].sum(dim=0).min()) > 0.0  # every bin between the first and last centre is covered


def test_mel_loss_is_zero_for_identical_audio_and_pins_loudness() -> None:
    loss = MultiScaleMelLoss(48000, ffts=(1024, 256), mels=(32, 8))
    x = _signal()
    assert float(loss(x, x)) < 1e-6
    # A gain error of 10 (20 dB) is one decade in every band: the loss is exactly 1.
    assert abs(float(loss(0.1 * x, x)) - 1.0) < 1e-4
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    assert 0 < float(loss(x + 1e-4 * noise, x)) < float(loss(x + 1e-2 * noise, x))  # empty bands count too


def test_si_sdr_known_values() -> None:
    x = _signal()
    assert float(si_sdr(3.0 * x, x)) > 100  # scale-invariant
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g, dtype=torch.float64)
    ref = x.double() - x.double().mean()
    noise = noise - noise.mean()
    noise = noise - (noise * ref).sum() / (ref * ref).sum() * ref  # orthogonal to the reference
    noise = noise * (ref.norm() / noise.norm()) / 10.0  # 20 dB below
    assert abs(float(si_sdr(ref + noise, ref)) - 20.0) < 1e-3


def test_discriminator_shapes_and_adversarial_losses() -> None:
    disc = MultiScaleSTFTDiscriminator(channels=2, filters=8, ffts=(256, 128))
    with torch.no_grad():
        out = disc(_signal(2048).repeat(2, 1, 1))
    assert len(out) == 2
    for logits, feats in out:
        assert logits.shape[:2] == (2, 1) and len(feats) == 5 and all(f.shape[1] == 8 for f in feats)
    one, minus = [torch.ones(3, 1, 4, 4)], [-torch.ones(3, 1, 4, 4)]
    assert float(discriminator_loss(one, minus, "hinge")) == 0.0  # both margins met
    assert float(discriminator_loss(minus, one, "hinge")) == 4.0
    assert float(generator_adversarial_loss(one, "hinge")) == 0.0
    assert float(discriminator_loss(one, [torch.zeros(3, 1, 4, 4)], "lsgan")) == 0.0
    assert float(generator_adversarial_loss([torch.zeros(3, 1, 4, 4)], "lsgan")) == 1.0
    feats = [f for _, f in out]
    assert float(feature_matching_loss(feats, feats)) == 0.0
    shifted = [[f + 1.0 for f in fs] for fs in feats]
    assert float(feature_matching_loss(feats, shifted)) > 0.0
