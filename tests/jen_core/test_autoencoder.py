"""ConvAutoencoder (JEN-1 IV-A) on the tiny preset: shapes, determinism, chunked decode, masking."""

from __future__ import annotations

import pytest
import torch

from jen_core.autoencoder import AudioAutoencoder, ConvAutoencoder, build_autoencoder
from jen_core.errors import JenError
from jen_core.presets import get_preset

TINY = get_preset("tiny").autoencoder


def make(seed: int = 0) -> ConvAutoencoder:
    torch.manual_seed(seed)
    return build_autoencoder(TINY).eval()


@pytest.fixture(scope="module")
def model() -> ConvAutoencoder:
    return make()


def audio(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    """[batch, 2, length]: a few sines plus noise, deterministic."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float32) / TINY.sample_rate
    freqs = 100 + 2000 * torch.rand(batch, 2, 1, generator=g)
    return 0.5 * torch.sin(2 * torch.pi * freqs * t) + 0.05 * torch.randn(batch, 2, length, generator=g)


def latents(frames: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, TINY.latent_dim, frames, generator=torch.Generator().manual_seed(seed))


def test_implements_protocol(model: ConvAutoencoder) -> None:
    assert isinstance(model, AudioAutoencoder)
    assert (model.sample_rate, model.channels, model.hop, model.latent_dim) == (48000, 2, 320, 8)


@torch.no_grad()
def test_shapes(model: ConvAutoencoder) -> None:
    z = model.encode(audio(1, 96000))
    assert z.shape == (1, 8, 300)
    wav = model.decode(z)
    assert wav.shape == (1, 2, 96000)
    assert torch.isfinite(wav).all() and wav.abs().max() > 0
    assert model.encode(audio(2, 96001)).shape == (2, 8, 301)  # padded up to a whole hop
    assert model.encode(audio(1, 5)).shape == (1, 8, 1)
    assert model.decode(latents(3)).shape == (1, 2, 960)


@torch.no_grad()
def test_padding_is_zeros_on_the_right(model: ConvAutoencoder) -> None:
    x = audio(1, 1000)
    padded = torch.nn.functional.pad(x, (0, 280))  # 1280 = 4 hops
    assert padded.shape[-1] == 1280
    torch.testing.assert_close(model.encode(x), model.encode(padded), atol=0, rtol=0)


def test_wrong_shapes_raise_jen_error(model: ConvAutoencoder) -> None:
    with pytest.raises(JenError):
        model.encode(torch.zeros(1, 1, 320))
    with pytest.raises(JenError):
        model.encode(torch.zeros(2, 320))
    with pytest.raises(JenError):
        model.encode(torch.zeros(1, 2, 0))
    with pytest.raises(JenError):
        model.decode(torch.zeros(1, 7, 4))
    with pytest.raises(JenError):
        model.decode_chunked(latents(4), chunk_frames=0)


@torch.no_grad()
def test_seeded_construction_is_deterministic() -> None:
    a, b, c = make(0), make(0), make(1)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    x = audio(1, 3200)
    assert torch.equal(a.encode(x), b.encode(x))
    assert not torch.equal(a.encode(x), c.encode(x))


def test_architecture_is_pinned(model: ConvAutoencoder) -> None:
    # Guards the checkpoint layout: a change here breaks saved weights.
    assert sum(p.numel() for p in model.parameters()) == 125_850
    keys = model.state_dict().keys()
    assert "encoder.1.residuals.1.conv.weight" in keys
    assert "decoder.1.up.weight" in keys
    assert model.state_dict()["encoder.3.down.weight"].shape == (64, 32, 20)  # 32 -> 64 ch, kernel 2 * 10


@torch.no_grad()
def test_batch_matches_single(model: ConvAutoencoder) -> None:
    x = audio(3, 9600, seed=4)
    z = model.encode(x)
    wav = model.decode(z)
    for i in range(3):
        torch.testing.assert_close(z[i : i + 1], model.encode(x[i : i + 1]), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(wav[i : i + 1], model.decode(z[i : i + 1]), atol=1e-5, rtol=1e-5)


@torch.no_grad()
@pytest.mark.parametrize(("chunk", "frames"), [(1, 24), (7, 90), (32, 90), (64, 150), (150, 150), (200, 150)])
def test_decode_chunked_equals_decode(model: ConvAutoencoder, chunk: int, frames: int) -> None:
    z = latents(frames, batch=2)
    full = model.decode(z)
    torch.testing.assert_close(model.decode_chunked(z, chunk_frames=chunk), full, atol=1e-5, rtol=0)


@torch.no_grad()
def test_overlap_matters(model: ConvAutoencoder) -> None:
    # Without context the seams differ, so the equality above is a real check.
    z = latents(60)
    err = (model.decode_chunked(z, chunk_frames=16, overlap_frames=0) - model.decode(z)).abs().max()
    assert err > 1e-3


@torch.no_grad()
def test_receptive_field_bounds_the_influence_of_a_frame() -> None:
    m = make().double()
    z = latents(40).double()
    j, r = 20, m.decoder_receptive_frames
    assert 1 <= r <= 8
    bumped = z.clone()
    bumped[..., j] += 5.0
    changed = ((m.decode(bumped) - m.decode(z)).abs().amax(dim=(0, 1)) > 0).nonzero().flatten()
    first, last = int(changed.min()) // m.hop, int(changed.max()) // m.hop
    assert j - r <= first <= j and j <= last <= j + r


@torch.no_grad()
def test_iter_decode_concatenates_to_decode(model: ConvAutoencoder) -> None:
    z = latents(50)
    chunks = list(model.iter_decode(z, chunk_frames=16))
    assert [c.shape[-1] for c in chunks] == [16 * 320, 16 * 320, 16 * 320, 2 * 320]
    torch.testing.assert_close(torch.cat(chunks, dim=-1), model.decode(z), atol=1e-5, rtol=0)


def test_mask_latents_masks_requested_share() -> None:
    z = torch.randn(3, 8, 1000) + 10.0  # no frame is zero by chance
    g = torch.Generator().manual_seed(0)
    masked = ConvAutoencoder.mask_latents(z, 0.05, generator=g)
    zero_frames = (masked == 0).all(dim=1)  # [B, S]
    assert zero_frames.sum(dim=1).tolist() == [50, 50, 50]
    assert not torch.equal(zero_frames[0], zero_frames[1])  # chosen per example
    kept = ~zero_frames[:, None, :].expand_as(z)
    assert torch.equal(masked[kept], z[kept])
    assert torch.equal(ConvAutoencoder.mask_latents(z, 0.0), z)
    assert (ConvAutoencoder.mask_latents(z[..., :10], 0.01) == 0).all(dim=1).sum(dim=1).tolist() == [1, 1, 1]
    again = ConvAutoencoder.mask_latents(z, 0.05, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, masked)


@torch.no_grad()
def test_forward_masks_only_in_training_by_default() -> None:
    m = make()
    x = audio(2, 6400)
    m.eval()
    recon, z = m(x)
    torch.testing.assert_close(recon, m.decode(m.encode(x)), atol=0, rtol=0)
    m.train()
    recon, z = m(x, generator=torch.Generator().manual_seed(3))
    expected = m.decode(ConvAutoencoder.mask_latents(z, TINY.mask_ratio, torch.Generator().manual_seed(3)))
    torch.testing.assert_close(recon, expected, atol=0, rtol=0)
    assert not torch.allclose(recon, m.decode(z))
    m.eval()
    recon, _ = m(x, mask_ratio=0.5, generator=torch.Generator().manual_seed(3))  # explicit ratio masks in eval
    assert not torch.allclose(recon, m.decode(z))


def test_gradient_flows() -> None:
    m = make().train()
    x = audio(2, 3200)
    recon, z = m(x)
    loss = (recon - x).abs().mean() + 1e-3 * z.pow(2).mean()
    loss.backward()
    grads = {n: p.grad for n, p in m.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["encoder.0.weight"].abs().sum() > 0 and grads["decoder.5.weight"].abs().sum() > 0


def test_small_preset_builds_with_hop_960() -> None:
    cfg = get_preset("small").autoencoder
    with torch.device("meta"):
        m = build_autoencoder(cfg)
    assert m.hop == 960 and m.latent_dim == 160
    assert (cfg.encoder, cfg.decoder) == ("logmel", "istft")
    z = m.encode(torch.zeros(1, 2, 960 * 5 - 7, device="meta"))
    assert z.shape == (1, 160, 5) and m.decode(z).shape == (1, 2, 960 * 5)


def test_paper_preset_size_is_sensible() -> None:
    cfg = get_preset("paper").autoencoder
    with torch.device("meta"):
        m = ConvAutoencoder(cfg)
    params = sum(p.numel() for p in m.parameters())
    assert m.hop == 320 and m.latent_dim == 128
    assert 5_000_000 < params < 50_000_000  # ~20 M
