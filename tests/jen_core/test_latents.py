"""Latent whitening (JEN-1 Algorithm 1): statistics, transform, inverse, serialisation."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from jen_core.errors import JenError
from jen_core.latents import LatentWhitener, WhiteningStats, whitening_transform
from jen_core.presets import whitened_dim

C = 8


def correlated_latents(*, dim: int = C, batch: int = 6, frames: int = 250, seed: int = 0) -> torch.Tensor:
    """[B, dim, S] float64: non-zero mean, standard deviations 0.4 .. 6 along randomly rotated axes."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.logspace(math.log10(0.4), math.log10(6.0), dim, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    offset = torch.randn(dim, generator=g, dtype=torch.float64) * 3
    x = torch.randn(batch * frames, dim, generator=g, dtype=torch.float64) * scales @ rotation.T + offset
    return x.reshape(batch, frames, dim).transpose(1, 2).contiguous()


def pooled(z: torch.Tensor) -> torch.Tensor:
    return z.transpose(1, 2).reshape(-1, z.shape[1])


def fit(z: torch.Tensor, keep: float = 0.9) -> tuple[WhiteningStats, LatentWhitener]:
    stats = WhiteningStats(z.shape[1])
    stats.update(z)
    return stats, stats.finalize(keep=keep)


def test_stats_match_direct_mean_and_covariance() -> None:
    z = correlated_latents()
    stats, _ = fit(z)
    x = pooled(z)
    assert stats.count == x.shape[0]
    torch.testing.assert_close(stats.mean, x.mean(0), atol=1e-12, rtol=0)
    torch.testing.assert_close(stats.covariance, torch.cov(x.T), atol=1e-12, rtol=0)


@pytest.mark.parametrize("keep", [0.9, 1.0])
def test_whitened_fitting_data_is_white_in_float64(keep: float) -> None:
    z = correlated_latents()
    stats, _ = fit(z)
    k = whitened_dim(C, keep)
    weight, _ = whitening_transform(stats.mean, stats.covariance, k=k)
    y = (pooled(z) - stats.mean) @ weight
    assert y.shape[1] == k
    torch.testing.assert_close(y.mean(0), torch.zeros(k, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(torch.cov(y.T), torch.eye(k, dtype=torch.float64), atol=1e-10, rtol=0)


def test_whitener_module_whitens_fitting_data() -> None:
    z = correlated_latents()
    _, whitener = fit(z)
    assert (whitener.dim, whitener.k) == (C, whitened_dim(C, 0.9))
    assert (torch.cov(pooled(z).T) - torch.eye(C, dtype=torch.float64)).abs().max() > 5  # far from white before
    for module, tol in ((copy.deepcopy(whitener).double(), 1e-4), (whitener, 1e-4)):
        y = pooled(module.whiten(z.to(module.weight.dtype))).double()
        torch.testing.assert_close(y.mean(0), torch.zeros(whitener.k, dtype=torch.float64), atol=tol, rtol=0)
        torch.testing.assert_close(torch.cov(y.T), torch.eye(whitener.k, dtype=torch.float64), atol=tol, rtol=0)


def test_weight_is_algorithm_1() -> None:
    # W = (U sqrt(Λ⁻¹))[:, :k] up to the sign of each column, so compare the sign-free W Wᵀ.
    z = correlated_latents()
    stats, whitener = fit(z)
    u, lam, _ = torch.linalg.svd(stats.covariance)
    k = whitener.k
    expected = u[:, :k] @ torch.diag(1 / lam[:k]) @ u[:, :k].T
    got = whitener.weight.double() @ whitener.weight.double().T
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(whitener.mean.double(), stats.mean, rtol=1e-6, atol=1e-6)


def test_whiten_of_unwhiten_is_identity() -> None:
    _, whitener = fit(correlated_latents())
    y = torch.randn(3, whitener.k, 40, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(whitener.whiten(whitener.unwhiten(y)), y, atol=1e-5, rtol=0)


def test_unwhiten_of_whiten_projects_onto_kept_subspace() -> None:
    z = correlated_latents()
    stats, whitener = fit(z, keep=0.7)
    assert whitener.k == 6
    # Independent reference: top-k eigenvectors of Σ via eigh.
    _, vecs = torch.linalg.eigh(stats.covariance)
    top = vecs[:, -whitener.k :]
    proj = top @ top.T
    centred = pooled(z) - stats.mean
    expected = centred @ proj + stats.mean
    got = pooled(whitener.unwhiten(whitener.whiten(z)))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-5)
    assert (got - pooled(z)).abs().max() > 1e-2  # a real projection, not the identity


def test_unwhiten_of_whiten_is_exact_when_all_channels_are_kept() -> None:
    z = correlated_latents()
    _, whitener = fit(z, keep=1.0)
    assert whitener.k == C
    torch.testing.assert_close(whitener.unwhiten(whitener.whiten(z.float())), z.float(), atol=1e-5, rtol=1e-5)
    stats, _ = fit(z)
    weight, inverse = whitening_transform(stats.mean, stats.covariance, k=C)  # float64 math
    torch.testing.assert_close((pooled(z) - stats.mean) @ weight @ inverse + stats.mean, pooled(z), atol=1e-12, rtol=0)


def test_incremental_updates_equal_one_shot_fit() -> None:
    z = correlated_latents(batch=7, frames=131)
    one_shot, _ = fit(z)
    inc = WhiteningStats(C)
    x = pooled(z)
    bounds = [0, 1, 9, 10, 200, 333, 600, x.shape[0]]  # 7 uneven chunks, one of a single frame
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        inc.update(x[lo:hi])
    inc.update(x[:0])  # empty chunk is a no-op
    assert inc.count == one_shot.count
    torch.testing.assert_close(inc.mean, one_shot.mean, atol=1e-9, rtol=0)
    torch.testing.assert_close(inc.covariance, one_shot.covariance, atol=1e-9, rtol=0)


def test_merge_equals_sequential_and_leaves_inputs_alone() -> None:
    a_data, b_data = correlated_latents(seed=1), correlated_latents(batch=2, seed=2) + 1.5
    seq = WhiteningStats(C)
    seq.update(a_data)
    seq.update(b_data)
    a, b = WhiteningStats(C), WhiteningStats(C)
    a.update(a_data)
    b.update(b_data)
    a_count, a_mean = a.count, a.mean
    merged = a.merge(b)
    assert merged.count == seq.count
    torch.testing.assert_close(merged.mean, seq.mean, atol=1e-9, rtol=0)
    torch.testing.assert_close(merged.covariance, seq.covariance, atol=1e-9, rtol=0)
    assert a.count == a_count and torch.equal(a.mean, a_mean)
    torch.testing.assert_close(WhiteningStats(C).merge(a).covariance, a.covariance, atol=0, rtol=0)
    restored = WhiteningStats.from_state_dict(merged.state_dict())
    assert restored.count == merged.count and torch.equal(restored.covariance, merged.covariance)


@pytest.mark.parametrize(("dim", "k"), [(128, 115), (64, 58), (8, 7), (10, 9), (100, 90)])
def test_kept_dimension_is_90_percent_rounded(dim: int, k: int) -> None:
    # presets.whitened_dim rounds half up: the paper's 115 of 128 (ceil would give 116).
    assert whitened_dim(dim, 0.9) == k
    stats = WhiteningStats(dim)
    stats.update(torch.randn(dim * 4, dim, generator=torch.Generator().manual_seed(dim)))
    assert stats.finalize(keep=0.9).k == k


def test_rank_deficient_covariance_stays_finite() -> None:
    g = torch.Generator().manual_seed(3)
    low_rank = torch.randn(500, 3, generator=g, dtype=torch.float64) @ torch.randn(
        3, C, generator=g, dtype=torch.float64
    )
    stats = WhiteningStats(C)
    stats.update(low_rank)
    whitener = stats.finalize(keep=1.0)
    for name, buf in whitener.state_dict().items():
        assert torch.isfinite(buf).all(), name
    y = whitener.whiten(low_rank.T[None].float())
    assert torch.isfinite(y).all()
    assert torch.isfinite(whitener.unwhiten(y)).all()
    # The three real directions come out white.
    torch.testing.assert_close(torch.cov(y[0, :3].double()), torch.eye(3, dtype=torch.float64), atol=1e-3, rtol=0)


def test_degenerate_inputs_raise_jen_error() -> None:
    stats = WhiteningStats(C)
    with pytest.raises(JenError):
        stats.finalize()  # empty
    stats.update(torch.ones(10, C))
    with pytest.raises(JenError):
        stats.finalize()  # zero covariance
    with pytest.raises(JenError):
        stats.update(torch.zeros(2, C + 1, 4))
    whitener = LatentWhitener(C, 6)
    with pytest.raises(JenError):
        whitener.whiten(torch.zeros(1, C - 1, 4))
    with pytest.raises(JenError):
        whitener.unwhiten(torch.zeros(1, C, 4))


def test_identity_initialisation() -> None:
    whitener = LatentWhitener(C, 6)
    z = torch.randn(2, C, 5)
    torch.testing.assert_close(whitener.whiten(z), z[:, :6], atol=0, rtol=0)
    expected = torch.cat([z[:, :6], torch.zeros(2, C - 6, 5)], dim=1)
    torch.testing.assert_close(whitener.unwhiten(whitener.whiten(z)), expected, atol=0, rtol=0)


def test_one_transform_serves_stacked_tracks() -> None:
    _, whitener = fit(correlated_latents())
    tracks = correlated_latents(batch=8, frames=20, seed=5).float().reshape(2, 4, C, 20)  # [B, K, C, S]
    y = whitener.whiten(tracks)
    assert y.shape == (2, 4, whitener.k, 20)
    torch.testing.assert_close(y[:, 2], whitener.whiten(tracks[:, 2]), atol=1e-6, rtol=0)
    assert whitener.unwhiten(y).shape == tracks.shape


def test_state_dict_round_trips_through_safetensors(tmp_path) -> None:
    _, whitener = fit(correlated_latents())
    state = whitener.state_dict()
    assert set(state) == {"mean", "weight", "inverse"}
    assert all(t.dtype == torch.float32 for t in state.values())
    path = tmp_path / "whitening.safetensors"
    save_file(state, str(path))
    loaded = LatentWhitener(C, whitener.k)
    loaded.load_state_dict(load_file(str(path)))
    z = correlated_latents(batch=1, frames=16, seed=9).float()
    assert torch.equal(loaded.whiten(z), whitener.whiten(z))
    assert torch.equal(loaded.inverse, whitener.inverse)


def test_fit_is_deterministic() -> None:
    z = correlated_latents()
    _, a = fit(z)
    _, b = fit(z)
    assert torch.equal(a.weight, b.weight)
