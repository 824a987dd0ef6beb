"""Every trainer on the tiny preset: the loss falls on a fixed batch, resume is bitwise exact,
a non-finite loss leaves the weights alone, the Composer's bootstrapping and JEN-1 init work,
and the result loads as a jen checkpoint."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from jen_core.errors import JenError
from jen_core.model import build_model
from jen_core.pipelines import load_pipeline
from jen_core.pipelines.tracks import Role
from jen_core.presets import get_preset
from tests.training.trainer_fixtures import config, latent_batch, state_equal, write_dataset
from training.distributed import DistEnv
from training.runner import run_training
from training.state import latest_checkpoint, load_trainer_state
from training.trainers.autoencoder import AutoencoderTrainer
from training.trainers.base import seed_step
from training.trainers.composer import ComposerTrainer, init_composer_from_jen1
from training.trainers.jen1 import Jen1Trainer

STAGES = ["autoencoder", "latent-stats"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("stems"), songs=3)


def _diffusion(cls, tmp_path: Path, data: Path, **extra):
    kind = "jen1" if cls is Jen1Trainer else "composer"
    cfg = config(kind, **extra)
    return cls(cfg, model=build_model(get_preset("tiny")), run_dir=tmp_path, env=DistEnv(), stages=STAGES, data_dir=data)


def _fixed_loss(trainer, batch) -> float:
    """The loss at step 0's random draws (same tasks, timesteps and noise every call)."""
    step, trainer.step = trainer.step, 0
    seed_step(123, 0, 0)
    with torch.no_grad():
        loss, _ = trainer.losses(batch)
    trainer.step = step
    return float(loss)


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("cls", [Jen1Trainer, ComposerTrainer])
def test_diffusion_loss_falls_on_a_fixed_batch(cls, tmp_path: Path, data: Path) -> None:
    trainer = _diffusion(cls, tmp_path, data, optim={"lr": 2e-3, "weight_decay": 0.0},
                         **({"bootstrap": {"start_step": None}} if cls is ComposerTrainer else {}))
    batch = latent_batch(batch=4)
    before = _fixed_loss(trainer, batch)
    for _ in range(40):
        out = trainer.train_step(batch)
        assert out.ok and out.updated == {"denoiser"}
        trainer.step += 1
    after = _fixed_loss(trainer, batch)
    assert after < 0.92 * before, (before, after)


def test_autoencoder_loss_falls_on_a_fixed_batch(tmp_path: Path, data: Path) -> None:
    cfg = config("autoencoder", optim={"lr": 3e-3}, data={"segment_seconds": 2560 / 48000},
                 loss={"disc_start": 10})  # discriminator joins for the last steps
    trainer = AutoencoderTrainer(cfg, model=build_model(get_preset("tiny")), run_dir=tmp_path, env=DistEnv(),
                                 stages=[], data_dir=data)
    _, batch = next(trainer.make_batches().iterate(0))
    losses = []
    for _ in range(16):
        out = trainer.train_step(batch)
        assert out.ok
        losses.append(out.metrics["loss/stft"] + out.metrics["loss/wave"])
        trainer.step += 1
    assert out.updated == {"autoencoder", "disc"} and "loss/feat" in out.metrics
    assert sum(losses[-3:]) < 0.85 * sum(losses[:3]), losses
    metrics = trainer.evaluate(trainer.waveforms(batch))
    assert set(metrics) == {"eval/si_sdr", "eval/mrstft"}


def test_jen1_task_masks_follow_the_paper(tmp_path: Path, data: Path) -> None:
    trainer = _diffusion(Jen1Trainer, tmp_path, data)
    torch.manual_seed(0)
    tasks, mask, causal = trainer.task_masks(600)
    frames = trainer.frames
    share = mask.mean(dim=1)
    counts = torch.bincount(tasks, minlength=3).double() / 600
    assert torch.all((counts - 1 / 3).abs() < 0.08)
    assert torch.all(share[tasks == 0] == 1.0)  # text-to-music: everything generated
    for task in (1, 2):
        s = share[tasks == task]
        assert s.min() >= 0.18 and s.max() <= 0.82  # 20-80 % masks (rounded to whole frames)
    cont = mask[tasks == 2]
    first = cont.argmax(dim=1)
    assert torch.all(cont.sum(dim=1) == frames - first)  # right-only: one block up to the end
    assert torch.equal(causal, tasks == 2)  # only continuation runs causal


RESUME = {
    "composer": {"preset": "tiny", "data": {"segment_seconds": 0.11, "batch_size": 2, "num_workers": 0},
                 "run": {"checkpoint_every": 100, "tensorboard": False, "log_every": 2},
                 "curriculum": {"steps": 6}, "bootstrap": {"start_step": 3, "prob": 1.0, "steps": 2}},
    "autoencoder": {"preset": "tiny", "data": {"segment_seconds": 2560 / 48000, "batch_size": 1, "num_workers": 0},
                    "run": {"checkpoint_every": 100, "tensorboard": False, "log_every": 2},
                    "loss": {"stft_ffts": [256, 64], "disc_ffts": [128], "disc_filters": 4, "disc_start": 2}},
}


@pytest.mark.parametrize("kind", ["composer", "autoencoder"])
def test_resume_is_bitwise_equal_to_a_straight_run(kind: str, tmp_path: Path, data: Path) -> None:
    """2 x 3 steps with a stop in between == 6 straight steps (bootstrapping / the discriminator join mid-way)."""
    over = RESUME[kind]
    straight, split = tmp_path / "straight", tmp_path / "split"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_training(kind, out=straight, data=data, max_steps=6, device="cpu", overrides=over)
        run_training(kind, out=split, data=data, max_steps=3, device="cpu", overrides=over)
        run_training(kind, out=split, max_steps=6, device="cpu")  # resumes with the run's own data/config
    a, meta_a = load_trainer_state(latest_checkpoint(straight))
    b, meta_b = load_trainer_state(latest_checkpoint(split))
    assert meta_a["step"] == meta_b["step"] == 6 and meta_a["updates"] == meta_b["updates"]
    assert all(n == 6 for n in meta_a["updates"].values()) or kind == "autoencoder"
    assert state_equal(a, b, ("module.", "optim.", "ema.")) == []
    assert meta_a["schedulers"] == meta_b["schedulers"] and meta_a["data"] == meta_b["data"]


def test_nonfinite_loss_skips_the_step_then_stops(tmp_path: Path, data: Path, monkeypatch) -> None:
    trainer = _diffusion(Jen1Trainer, tmp_path, data, run={"max_nonfinite": 3})
    batch = latent_batch()
    trainer.train_step(batch)
    trainer.step = 1
    trainer.save()
    params, opt_before = _params(trainer.objective), trainer.optimizers["denoiser"].state_dict()
    real = trainer.losses

    def poisoned(b):
        loss, metrics = real(b)
        return loss * float("nan"), metrics

    monkeypatch.setattr(trainer, "losses", poisoned)
    out = trainer.train_step(batch)
    assert not out.ok and out.updated == set()
    assert state_equal(params, _params(trainer.objective), ("",)) == []
    opt_after = trainer.optimizers["denoiser"].state_dict()
    assert all(torch.equal(opt_before["state"][i]["exp_avg"], opt_after["state"][i]["exp_avg"]) for i in opt_before["state"])
    assert trainer.updates["denoiser"] == 1
    ema_before = _params(trainer.emas["denoiser"].module)
    monkeypatch.setattr(trainer, "iterate", lambda: iter([(s, batch) for s in range(1, 10)]))
    with pytest.raises(JenError, match="not finite for 3 steps in a row") as info:
        trainer.fit(10)
    assert "step_00000001" in str(info.value)
    assert state_equal(params, _params(trainer.objective), ("",)) == []
    assert state_equal(ema_before, _params(trainer.emas["denoiser"].module), ("",)) == []
    assert latest_checkpoint(tmp_path).name == "step_00000001"
    load_pipeline(str(tmp_path / "checkpoint"))  # the last good checkpoint still loads


def test_autoencoder_nan_leaves_weights_unchanged(tmp_path: Path, data: Path, monkeypatch) -> None:
    trainer = AutoencoderTrainer(config("autoencoder"), model=build_model(get_preset("tiny")), run_dir=tmp_path,
                                 env=DistEnv(), stages=[], data_dir=data)
    _, batch = next(trainer.make_batches().iterate(0))
    ae, disc = _params(trainer.model.autoencoder), _params(trainer.disc)
    monkeypatch.setattr(trainer.stft_loss, "forward", lambda est, ref: torch.tensor(float("inf")) * est.sum())
    out = trainer.train_step(batch)
    assert out.skipped == {"autoencoder"} and not out.updated
    assert state_equal(ae, _params(trainer.model.autoencoder), ("",)) == []
    assert state_equal(disc, _params(trainer.disc), ("",)) == []


def test_self_bootstrapping_replaces_kept_tracks(tmp_path: Path, data: Path) -> None:
    trainer = _diffusion(ComposerTrainer, tmp_path, data, bootstrap={"start_step": 0, "prob": 1.0, "steps": 2})
    batch = latent_batch(batch=2)
    clean = trainer.clean_latents(batch)[:, :4].contiguous()
    roles = [[Role.TARGET, Role.KEPT, Role.ABSENT, Role.KEPT], [Role.TARGET] * 4]
    before = clean.clone()
    torch.manual_seed(0)
    n = trainer.bootstrap(clean, roles, batch["caption"], batch["meta"])
    changed = [(i, j) for i in range(2) for j in range(4) if not torch.equal(before[i, j], clean[i, j])]
    assert n == len(changed) >= 1 and all(i == 0 and roles[0][j] == Role.KEPT for i, j in changed)
    out = trainer.train_step(batch)
    assert out.ok and "bootstrap_tracks" in out.metrics


def test_composer_init_from_jen1_reports_what_it_reinitialises() -> None:
    model = build_model(get_preset("tiny"), seed=3)
    report = init_composer_from_jen1(model.composer, model.jen1)
    assert set(report["reinitialised"]) == {"conv_in.weight", "conv_out.weight", "conv_out.bias", "time.proj.weight"}
    assert all(k.startswith("time.tracks.") for k in report["replicated"])
    c, j = model.composer.state_dict(), model.jen1.state_dict()
    assert all(torch.equal(c[k], j[k]) for k in report["copied"])
    assert torch.equal(c["time.tracks.3.0.weight"], j["time.tracks.0.0.weight"])


def test_pipeline_chain_writes_loadable_checkpoints(tmp_path: Path, data: Path) -> None:
    """autoencoder -> latent-stats -> encode -> jen1 (latents) -> composer (init from JEN-1)."""
    from training.encode import encode_dataset
    from training.latent_data import LatentDataset

    ae_over = {"preset": "tiny", "data": {"segment_seconds": 0.1, "batch_size": 1, "num_workers": 0},
               "run": {"tensorboard": False}, "loss": {"stft_ffts": [256], "disc_ffts": [128], "disc_filters": 4}}
    ae = run_training("autoencoder", out=tmp_path / "ae", data=data, max_steps=1, device="cpu", overrides=ae_over)
    stats = run_training("latent-stats", out=tmp_path / "ls", data=data, init_from=ae, device="cpu",
                         overrides={"preset": "tiny"})
    pipe = load_pipeline(str(stats))
    assert not torch.equal(pipe.model.whitener.mean, torch.zeros_like(pipe.model.whitener.mean))
    lat = encode_dataset(pipe.model, data, tmp_path / "lat")
    item = LatentDataset(lat, frames=16)[0]
    assert item["latents"].shape == (5, 8, 16)
    diff = {"preset": "tiny", "data": {"segment_seconds": 0.11, "batch_size": 2, "num_workers": 0},
            "run": {"tensorboard": False}}
    j1 = run_training("jen1", out=tmp_path / "j1", latents=lat, init_from=stats, max_steps=2, device="cpu", overrides=diff)
    co = run_training("composer", out=tmp_path / "co", latents=lat, init_from=j1, max_steps=1, device="cpu", overrides=diff)
    pipe = load_pipeline(str(co))
    stems = pipe.generate("calm", seconds=0.2, steps=2)
    assert set(stems) == {"bass", "drums", "instrument", "melody"}
    assert pipe.generate("calm", seconds=0.2, steps=2, stems=["mix"])["mix"].shape == (2, 9600)
    import json

    extra = json.loads((co / "config.json").read_text())["extra"]
    assert extra["stages"] == ["autoencoder", "latent-stats", "jen1", "composer"]


def test_latents_from_another_autoencoder_are_refused(tmp_path: Path, data: Path) -> None:
    from training.encode import encode_dataset

    lat = encode_dataset(build_model(get_preset("tiny"), seed=1), data, tmp_path / "lat")
    cfg = config("jen1")
    trainer = Jen1Trainer(cfg, model=build_model(get_preset("tiny"), seed=2), run_dir=tmp_path / "r", env=DistEnv(),
                          stages=STAGES, latents_dir=lat)
    with pytest.raises(JenError, match="another autoencoder"):
        trainer.make_batches()


def test_bad_songs_are_named_and_skipped_or_refused(tmp_path: Path) -> None:
    from tests.training.trainer_fixtures import write_song

    root = write_dataset(tmp_path / "d", songs=2)
    write_song(root / "broken_song", seed=5, lengths={"drums": 9000})
    cfg = config("jen1")
    trainer = Jen1Trainer(cfg, model=build_model(get_preset("tiny")), run_dir=tmp_path / "r", env=DistEnv(),
                          stages=STAGES, data_dir=root)
    with pytest.warns(UserWarning, match="broken_song"):
        batches = trainer.make_batches()
    assert sorted(s.name for s in batches.dataset.songs) == ["song_0", "song_1"]
    strict = config("jen1", data={"strict": True})
    trainer = Jen1Trainer(strict, model=build_model(get_preset("tiny")), run_dir=tmp_path / "r2", env=DistEnv(),
                          stages=STAGES, data_dir=root)
    with pytest.raises(JenError, match="broken_song.*lengths differ"):
        trainer.make_batches()


def test_resume_refuses_another_config_or_stage(tmp_path: Path, data: Path) -> None:
    over = {"preset": "tiny", "data": {"segment_seconds": 0.11, "batch_size": 2, "num_workers": 0},
            "run": {"tensorboard": False}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_training("jen1", out=tmp_path, data=data, max_steps=1, device="cpu", overrides=over)
        with pytest.raises(JenError, match="optim.lr"):
            run_training("jen1", out=tmp_path, max_steps=2, device="cpu", overrides={**over, "optim": {"lr": 1e-3}})
        with pytest.raises(JenError, match="holds a 'jen1' run"):
            run_training("composer", out=tmp_path, data=data, max_steps=2, device="cpu", overrides=over)
        run_training("jen1", out=tmp_path, max_steps=2, device="cpu", overrides={**over, "run": {"log_every": 1}})
    assert latest_checkpoint(tmp_path).name == "step_00000002"
