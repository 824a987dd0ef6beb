"""The numpy samplers mirror jen_core.diffusion: the same golden values, timesteps, schedule, guidance
and (with a numpy generator) the very same DDPM noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from export.runtimes import numpy_diffusion as nd
from jen_core.diffusion import NoiseSchedule, classifier_free, composer_guidance, get_sampler, timesteps_for
from jen_core.errors import CancelledError, JenError
from jen_core.noise import draw, gaussian, noise_rng
from tests.jen_core.test_diffusion import GOLDEN


def dummy_model(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The numpy twin of tests/jen_core/test_diffusion.dummy_model."""
    return np.float32(0.5) * np.tanh(x) + np.float32(0.01) * t.astype(x.dtype).reshape(-1, *([1] * (x.ndim - 1))) / 1000


def x_T(seed: int = 0, shape: tuple[int, ...] = (2, 4, 16)) -> np.ndarray:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).numpy()


@pytest.fixture(scope="module")
def schedule() -> nd.NumpySchedule:
    return nd.NumpySchedule()


def test_schedule_matches_torch(schedule: nd.NumpySchedule) -> None:
    ref = NoiseSchedule()
    np.testing.assert_allclose(schedule.alphas_cumprod, ref.alphas_cumprod.numpy(), rtol=1e-13, atol=0)
    for steps in (1, 2, 7, 25, 200, 999, 1000):
        assert np.array_equal(nd.timesteps_for(schedule, steps), timesteps_for(ref, steps).numpy())


@pytest.mark.parametrize(("name", "steps"), list(GOLDEN))
def test_golden_values(schedule: nd.NumpySchedule, name: str, steps: int) -> None:
    """The golden numbers of tests/jen_core/test_diffusion.py; DDPM noise drawn from the same torch generator."""
    gen = torch.Generator().manual_seed(1234)
    out = nd.get_sampler(name)(dummy_model, x_T(0), schedule, steps=steps,
                               generator=lambda shape: torch.randn(shape, generator=gen).numpy())
    expected_sum, expected_mean_abs = GOLDEN[(name, steps)]
    assert out.dtype == np.float32
    assert float(out.sum()) == pytest.approx(expected_sum, rel=1e-4)
    assert float(np.abs(out).mean()) == pytest.approx(expected_mean_abs, rel=1e-4)


@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpmpp"])
def test_numpy_generator_gives_the_same_samples_as_jen_core(schedule: nd.NumpySchedule, name: str) -> None:
    """What the pipelines do: one PCG64 stream for x_T and DDPM noise, identical in both implementations."""
    steps = 12
    rng_a, rng_b = noise_rng(5), noise_rng(5)
    xa, xb = draw(rng_a, (2, 3, 16)), draw(rng_b, (2, 3, 16))
    ours = nd.get_sampler(name)(dummy_model, xa, schedule, steps=steps, generator=rng_a)

    def torch_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.tanh(x) + 0.01 * t.to(x.dtype).view(-1, 1, 1) / 1000

    ref = get_sampler(name)(torch_model, torch.from_numpy(xb), NoiseSchedule(), steps=steps, generator=rng_b).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_noise_helper_is_seeded_and_float32() -> None:
    a, b = gaussian(3, (2, 5)), gaussian(3, (2, 5))
    assert a.dtype == np.float32 and np.array_equal(a, b) and not np.array_equal(a, gaussian(4, (2, 5)))
    assert np.array_equal(gaussian(-1, (3,)), gaussian(2**64 - 1, (3,)))  # any int seed works
    # a fixed stream: changing it silently would change every seeded generation
    np.testing.assert_allclose(gaussian(0, (3,)), [0.12573022, -0.13210486, 0.64042264], rtol=1e-6)


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0, 2.0, 7.0, -0.2])
def test_guidance_is_torch_lerp(weight: float) -> None:
    a, b = x_T(10), x_T(11)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    np.testing.assert_allclose(nd.classifier_free(a, b, weight), classifier_free(ta, tb, weight).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(nd.composer_guidance(a, b, weight), composer_guidance(ta, tb, weight).numpy(), rtol=1e-6,
                               atol=1e-6)
    if weight in (0.0, 1.0):  # the endpoints are exact, as in torch.lerp
        assert np.array_equal(nd.classifier_free(a, b, weight), a if weight == 1.0 else b)
    with pytest.raises(JenError):
        nd.classifier_free(a, b[:1], 2.0)


def test_calls_callbacks_and_errors(schedule: nd.NumpySchedule) -> None:
    seen: list[int] = []

    def on_step(done: int, total: int) -> None:
        seen.append(done)
        if done == 3:
            raise CancelledError("stop")

    with pytest.raises(CancelledError):
        nd.dpmpp_2m(dummy_model, x_T(), schedule, steps=10, on_step=on_step)
    assert seen == [1, 2, 3]
    for bad in (0, 1001, 2.0, True):
        with pytest.raises(JenError, match="steps"):
            nd.ddim(dummy_model, x_T(), schedule, steps=bad)  # type: ignore[arg-type]
    with pytest.raises(JenError, match="ddpm, ddim, dpmpp"):
        nd.get_sampler("euler")
    with pytest.raises(JenError):
        nd.ddim(dummy_model, x_T(), schedule, steps=3, eta=-1.0)
