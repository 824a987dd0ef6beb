"""Trainer checkpoints: pickle-free round trips, atomic replacement, a kill during a write."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from jen_core.checkpoint import load_checkpoint
from jen_core.model import build_model
from jen_core.presets import get_preset
from training import state as state_mod
from training.state import (
    latest_checkpoint,
    load_optimizer_state,
    load_trainer_state,
    optimizer_state,
    rng_state,
    save_training_checkpoint,
    set_rng_state,
)


@pytest.fixture(scope="module")
def tiny_model():
    return build_model(get_preset("tiny"))


def _adam_after_steps() -> tuple[torch.nn.Module, torch.optim.AdamW]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, betas=(0.9, 0.95))
    for _ in range(3):
        net(torch.randn(5, 4)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
    return net, opt


def test_optimizer_and_rng_round_trip_bitwise() -> None:
    net, opt = _adam_after_steps()
    tensors, meta = optimizer_state("optim.x", opt)
    opt2 = torch.optim.AdamW(net.parameters(), lr=1.0)
    load_optimizer_state("optim.x", opt2, tensors, meta)
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k in a["state"][i]:
            assert torch.equal(a["state"][i][k], b["state"][i][k])
    t, m = rng_state()
    want = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(t, m)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(want[0], got[0]) and np.array_equal(want[1], got[1]) and want[2] == got[2]


def test_latest_checkpoint_and_pruning(tmp_path: Path, tiny_model) -> None:
    for step in (1, 2, 3):
        save_training_checkpoint(tmp_path, step=step, model=tiny_model, tensors={"x": torch.full((2,), float(step))},
                                 meta={"kind": "t"}, keep=2)
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step_00000003"
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000002", "step_00000003"]
    tensors, meta = load_trainer_state(latest)
    assert meta["step"] == 3 and torch.equal(tensors["x"], torch.full((2,), 3.0))
    assert (tmp_path / "checkpoint").resolve() == latest.resolve()
    load_checkpoint(tmp_path / "checkpoint")  # the symlink is a loadable jen checkpoint


def test_kill_during_write_keeps_previous_checkpoint(tmp_path: Path, tiny_model, monkeypatch) -> None:
    save_training_checkpoint(tmp_path, step=5, model=tiny_model, tensors={"x": torch.ones(2)}, meta={"kind": "t"})
    calls = {"n": 0}
    real_save = state_mod.save_file

    def dying_save(tensors, path, metadata=None):  # the process "dies" halfway through the trainer state
        calls["n"] += 1
        with open(path, "wb") as fh:
            fh.write(b"\x00" * 100)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(state_mod, "save_file", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_training_checkpoint(tmp_path, step=6, model=tiny_model, tensors={"x": torch.zeros(2)}, meta={"kind": "t"})
    monkeypatch.setattr(state_mod, "save_file", real_save)
    assert calls["n"] == 1
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step_00000005"
    tensors, meta = load_trainer_state(latest)
    assert meta["step"] == 5 and torch.equal(tensors["x"], torch.ones(2))
    load_checkpoint(tmp_path / "checkpoint")
    assert not (tmp_path / "checkpoints" / "step_00000006").exists()


def test_damaged_state_is_refused(tmp_path: Path, tiny_model) -> None:
    folder = save_training_checkpoint(tmp_path, step=1, model=tiny_model, tensors={"x": torch.ones(2)}, meta={})
    path = folder / "trainer" / "state.safetensors"
    path.write_bytes(path.read_bytes()[:-1] + b"\x01")
    with pytest.raises(Exception, match="sha256"):
        load_trainer_state(folder)
