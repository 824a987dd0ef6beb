"""OmniUNet1D: shapes, causality through the whole network, timestep vectors, CFG branch."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from jen_core.model import count_parameters
from jen_core.presets import get_preset
from jen_core.unet import OmniUNet1D, UNetCond, split_tracks, stack_inputs

S = 64


def _unet(tracks: int, seed: int = 0) -> OmniUNet1D:
    torch.manual_seed(seed)
    cfg = get_preset("tiny")
    return OmniUNet1D(dataclasses.replace(cfg.jen1, tracks=tracks)).eval()


def _cond(batch: int, seed: int = 1, uncond: bool | None = None) -> UNetCond:
    g = torch.Generator().manual_seed(seed)
    text = torch.randn(batch, 6, 32, generator=g)
    mask = torch.ones(batch, 6, dtype=torch.bool)
    mask[:, 4:] = False
    meta = torch.tensor([[120.0, 5.0, 4.0]] * batch)
    flags = None if uncond is None else torch.full((batch,), uncond)
    return UNetCond(text, mask, meta, flags)


def _x(unet: OmniUNet1D, batch: int = 1, seed: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, unet.cfg.in_channels, S, generator=g)


@pytest.mark.parametrize("tracks", [1, 4])
def test_shapes(tracks: int) -> None:
    unet = _unet(tracks)
    out = unet(_x(unet, 2), torch.tensor([10, 500]), _cond(2))
    assert out.shape == (2, tracks * unet.cfg.latent_dim, S)
    assert split_tracks(out, tracks).shape == (2, tracks, unet.cfg.latent_dim, S)


@pytest.mark.parametrize("tracks", [1, 4])
@pytest.mark.parametrize("frame", [1, 13, 33, 63])
def test_causal_mode_is_causal(tracks: int, frame: int) -> None:
    """Changing input frames >= f never changes outputs at frames < f (through down/up-sampling)."""
    unet = _unet(tracks)
    x = _x(unet)
    x2 = x.clone()
    x2[:, :, frame:] += torch.randn_like(x2[:, :, frame:]) * 3
    t, cond = torch.tensor([300]), _cond(1)
    with torch.no_grad():
        a, b = unet(x, t, cond, causal=True), unet(x2, t, cond, causal=True)
    assert torch.allclose(a[:, :, :frame], b[:, :, :frame], atol=1e-6, rtol=0)
    assert (a[:, :, frame:] - b[:, :, frame:]).abs().max() > 1e-3


def test_bidirectional_mode_looks_ahead() -> None:
    unet = _unet(1)
    x = _x(unet)
    x2 = x.clone()
    x2[:, :, 40:] += 1.0
    t, cond = torch.tensor([300]), _cond(1)
    with torch.no_grad():
        a, b = unet(x, t, cond), unet(x2, t, cond)
    assert (a[:, :, :40] - b[:, :, :40]).abs().max() > 1e-3


def test_causal_and_bidirectional_share_weights() -> None:
    unet = _unet(1)
    names = {n for n, _ in unet.named_parameters()}
    x, t, cond = _x(unet), torch.tensor([300]), _cond(1)
    with torch.no_grad():
        assert not torch.allclose(unet(x, t, cond), unet(x, t, cond, causal=True))
    assert names == {n for n, _ in unet.named_parameters()}


def test_each_track_timestep_reaches_the_output() -> None:
    unet = _unet(4)
    x, cond = _x(unet), _cond(1)
    base = torch.tensor([[200, 200, 0, 1000]])
    with torch.no_grad():
        ref = unet(x, base, cond)
        for track in range(4):
            t = base.clone()
            t[0, track] = 600
            out = unet(x, t, cond)
            assert (out - ref).abs().max() > 1e-4, f"track {track}'s timestep has no effect"


def test_scalar_timestep_broadcasts_to_all_tracks() -> None:
    unet = _unet(4)
    x, cond = _x(unet), _cond(1)
    with torch.no_grad():
        assert torch.equal(unet(x, torch.tensor([77]), cond), unet(x, torch.tensor([[77, 77, 77, 77]]), cond))


def test_unconditional_branch_ignores_text_and_meta() -> None:
    unet = _unet(1)
    x, t = _x(unet), torch.tensor([300])
    c1, c2 = _cond(1, seed=1, uncond=True), _cond(1, seed=9, uncond=True)
    c2.meta = torch.tensor([[90.0, 17.0, 8.0]])
    with torch.no_grad():
        assert torch.allclose(unet(x, t, c1), unet(x, t, c2), atol=1e-6)
        cond_a, cond_b = _cond(1, seed=1, uncond=False), _cond(1, seed=9, uncond=False)
        assert (unet(x, t, cond_a) - unet(x, t, cond_b)).abs().max() > 1e-4


def test_padded_text_tokens_are_ignored() -> None:
    unet = _unet(1)
    x, t, cond = _x(unet), torch.tensor([300]), _cond(1)
    other = UNetCond(cond.text.clone(), cond.text_mask, cond.meta)
    other.text[:, 4:] = 100.0  # padding positions (mask False)
    with torch.no_grad():
        assert torch.allclose(unet(x, t, cond), unet(x, t, other), atol=1e-6)


def test_batch_matches_single() -> None:
    unet = _unet(4)
    x = _x(unet, 3)
    t = torch.tensor([[5, 5, 0, 1000], [900, 900, 900, 900], [1, 2, 3, 4]])
    cond = _cond(3)
    cond.uncond = torch.tensor([False, True, False])
    with torch.no_grad():
        batch = unet(x, t, cond)
        for i in range(3):
            one = UNetCond(cond.text[i : i + 1], cond.text_mask[i : i + 1], cond.meta[i : i + 1], cond.uncond[i : i + 1])
            assert torch.allclose(batch[i : i + 1], unet(x[i : i + 1], t[i : i + 1], one), atol=1e-5)


def test_seeded_build_is_deterministic() -> None:
    a, b = _unet(4, seed=5), _unet(4, seed=5)
    for (na, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), na


def test_stack_inputs_layout() -> None:
    noisy = torch.full((1, 2, 3, 4), 1.0)
    context = torch.full((1, 2, 3, 4), 2.0)
    mask = torch.zeros(1, 2, 4)
    mask[:, 1] = 1.0
    x = stack_inputs(noisy, context, mask)
    assert x.shape == (1, 2 * 7, 4)
    assert x[0, :3].eq(1).all() and x[0, 3:6].eq(2).all() and x[0, 6].eq(0).all() and x[0, 13].eq(1).all()


def test_bad_length_and_channels_are_reported() -> None:
    unet = _unet(1)
    with pytest.raises(ValueError, match="multiple"):
        unet(torch.zeros(1, unet.cfg.in_channels, 31), torch.tensor([1]), _cond(1))
    with pytest.raises(ValueError, match="input channels"):
        unet(torch.zeros(1, 3, 32), torch.tensor([1]), _cond(1))


def test_parameter_counts_per_preset() -> None:
    paper = count_parameters(get_preset("paper"))
    assert abs(paper["unet_jen1"] - 726e6) / 726e6 < 0.05
    small = count_parameters(get_preset("small"))
    assert small["unet_jen1"] <= 15e6 and small["unet_composer"] <= 15e6
    assert 2 * sum(small.values()) <= 40e6, "the bundled small model must fit in 40 MB as float16"
    assert count_parameters(get_preset("tiny"))["unet_jen1"] < 1e6
