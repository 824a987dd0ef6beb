"""Two processes under torchrun with the gloo backend (CPU), started the way users start them.

Each test launches ``python -m torch.distributed.run --standalone --nproc_per_node 2 -m jen_cli ...``
in a subprocess (a few seconds: two interpreters importing torch), so they are kept short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from jen_core.checkpoint import load_checkpoint
from tests.training.trainer_fixtures import write_dataset
from training.state import latest_checkpoint, load_trainer_state

ROOT = Path(__file__).resolve().parents[2]


def _torchrun(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "jen_cli", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("stems"), songs=3)


@pytest.mark.slow
def test_torchrun_two_processes_gloo_jen1(tmp_path: Path, data: Path) -> None:
    cfg = {"preset": "tiny", "data": {"segment_seconds": 0.11, "batch_size": 2, "num_workers": 0},
           "run": {"log_every": 1, "checkpoint_every": 2, "tensorboard": False}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    proc = _torchrun(["train", "jen1", "--config", str(tmp_path / "c.json"), "--data", str(data), "--out", str(out),
                      "--max-steps", "3", "--device", "cpu"], tmp_path)
    assert proc.stdout.count("checkpoint:") == 1  # rank 0 only
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]  # one writer, one line per logged step
    _, meta = load_trainer_state(latest_checkpoint(out))
    assert meta["step"] == 3 and meta["data"]["world_size"] == 2 and meta["updates"] == {"denoiser": 3}
    load_checkpoint(out / "checkpoint")


@pytest.mark.slow
def test_torchrun_latent_stats_merges_ranks_exactly(tmp_path: Path, data: Path) -> None:
    from training.runner import run_training

    _torchrun(["train", "latent-stats", "--data", str(data), "--out", str(tmp_path / "two"), "--preset", "tiny",
               "--device", "cpu"], tmp_path)
    one = run_training("latent-stats", out=tmp_path / "one", data=data, device="cpu", overrides={"preset": "tiny"})
    a = load_checkpoint(tmp_path / "two" / "checkpoint").whitener
    b = load_checkpoint(one).whitener
    for name in ("mean", "weight", "inverse"):
        assert torch.allclose(getattr(a, name), getattr(b, name), atol=1e-5, rtol=1e-4), name
