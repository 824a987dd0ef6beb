"""v-prediction (DiffusionConfig.prediction = "v", the small preset): the target, its conversion to epsilon in
torch and in numpy, the pipelines on both, and the trainer's regression target."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from export.parity import stem_si_sdr
from export.runtimes.numpy_diffusion import NumpySchedule
from export.runtimes.numpy_pipeline import NumpyPipeline
from export.runtimes.torch_rt import TorchGraphRuntime
from jen_core.diffusion import NoiseSchedule
from jen_core.errors import JenError
from jen_core.model import build_model
from jen_core.pipelines.pipeline import JenPipeline
from jen_core.presets import ModelConfig, get_preset


def _v_tiny() -> ModelConfig:
    cfg = get_preset("tiny")
    return dataclasses.replace(cfg, diffusion=dataclasses.replace(cfg.diffusion, prediction="v")).validate()


def test_v_target_converts_back_to_the_noise() -> None:
    sched = NoiseSchedule()
    gen = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 2, 5, 7, generator=gen), torch.randn(3, 2, 5, 7, generator=gen)
    t = torch.tensor([0, 500, 999])
    x_t = sched.add_noise(x0, eps, t)
    v = sched.v_target(x0, eps, t)
    torch.testing.assert_close(sched.to_eps(v, x_t, t, "v"), eps, atol=1e-5, rtol=1e-5)
    assert sched.to_eps(v, x_t, t, "epsilon") is v
    # at the noisiest step v is almost -x0 (bounded), where epsilon's x0 estimate is amplified ~200x
    torch.testing.assert_close(v[2], -x0[2], atol=0.02, rtol=0.0)
    nps = NumpySchedule()
    got = nps.to_eps(v.numpy(), x_t.numpy(), t.numpy(), "v")
    np.testing.assert_allclose(got, eps.numpy(), atol=1e-5)
    with pytest.raises(JenError, match="epsilon or v"):
        sched.to_eps(v, x_t, t, "x0")


def test_unknown_prediction_is_refused() -> None:
    cfg = get_preset("tiny")
    with pytest.raises(JenError, match="diffusion.prediction"):
        dataclasses.replace(cfg, diffusion=dataclasses.replace(cfg.diffusion, prediction="x0")).validate()
    assert get_preset("small").diffusion.prediction == "v"
    assert get_preset("paper").diffusion.prediction == "epsilon"  # the papers' objective
    assert ModelConfig.from_dict(_v_tiny().to_dict()).diffusion.prediction == "v"


def test_v_model_changes_sampling_and_numpy_matches_torch() -> None:
    eps_model, v_model = build_model(get_preset("tiny"), seed=0), build_model(_v_tiny(), seed=0)
    kw = {"seconds": 0.3, "seed": 11, "steps": 4, "sampler": "dpmpp"}
    a = JenPipeline(eps_model, name="eps").generate("x", **kw)
    b = JenPipeline(v_model, name="v").generate("x", **kw)
    assert not np.allclose(a["bass"], b["bass"]), "prediction='v' did not change sampling"
    numpy_pipe = NumpyPipeline(TorchGraphRuntime(v_model), v_model.cfg, name="v")
    for name, db in stem_si_sdr(b, numpy_pipe.generate("x", **kw)).items():
        assert db >= 90.0, f"{name}: {db:.1f} dB"
    kw = {"keep": {"bass": b["bass"]}, "generate": ["drums"], "steps": 3, "seed": 2}
    for name, db in stem_si_sdr(JenPipeline(v_model, name="v").compose("y", **kw), numpy_pipe.compose("y", **kw)).items():
        assert db >= 90.0, f"{name}: {db:.1f} dB"


def test_trainer_regresses_v() -> None:
    from training.trainers.diffusion import DiffusionTrainer

    sched = NoiseSchedule()
    x0, eps, t = torch.randn(2, 1, 3, 4), torch.randn(2, 1, 3, 4), torch.tensor([10, 900])
    stub = type("T", (), {"schedule": sched})()
    stub.prediction = "v"
    torch.testing.assert_close(DiffusionTrainer.target(stub, x0, eps, t), sched.v_target(x0, eps, t))
    stub.prediction = "epsilon"
    assert DiffusionTrainer.target(stub, x0, eps, t) is eps
