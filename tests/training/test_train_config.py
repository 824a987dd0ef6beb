"""Train configs: defaults from the papers, JSON files, unknown keys and bad values refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jen_cli.main import main
from jen_core.errors import JenError
from training.config import default_config, load_config


def test_paper_defaults() -> None:
    jen1, composer = default_config("jen1"), default_config("composer")
    for cfg in (jen1, composer):
        assert cfg.optim.lr == 3e-5 and cfg.optim.betas == (0.9, 0.95) and cfg.optim.weight_decay == 0.1
        assert cfg.cond_drop_prob == 0.2
    assert jen1.optim.grad_clip == 1.0 and composer.optim.grad_clip == 0.7
    assert composer.p1 == 0.8 and composer.bootstrap.prob == 0.5
    assert default_config("autoencoder").run.ema_decay > 0


def test_nested_override_keeps_stage_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"optim": {"lr": 1e-4}, "curriculum": {"schedule": "cosine"}}))
    cfg = load_config("composer", path)
    assert cfg.optim.lr == 1e-4 and cfg.optim.grad_clip == 0.7  # the composer's clip survives a partial optim block
    assert cfg.curriculum.schedule == "cosine"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"learning_rate": 1}, "config.learning_rate"),
        ({"optim": {"lrr": 1e-4}}, "config.optim.lrr"),
        ({"bootstrap": {"p3": 0.1}}, "config.bootstrap.p3"),
    ],
)
def test_unknown_key_is_an_error_naming_it(overrides: dict, needle: str) -> None:
    with pytest.raises(JenError, match="unknown config key") as info:
        load_config("composer", overrides=overrides)
    assert needle in str(info.value)


def test_bad_values_are_errors() -> None:
    with pytest.raises(JenError, match="config.data.batch_size: expected an integer"):
        load_config("jen1", overrides={"data": {"batch_size": "8"}})
    with pytest.raises(JenError, match="p1"):
        load_config("composer", overrides={"p1": 1.5})
    with pytest.raises(JenError, match="unknown preset"):
        load_config("jen1", overrides={"preset": "huge"})
    with pytest.raises(JenError, match="not valid JSON"):
        bad = Path(__file__).with_suffix(".py")  # a file that is not JSON
        load_config("jen1", bad)


def test_cli_reports_unknown_key_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"run": {"max_step": 3}}))
    code = main(["train", "jen1", "--config", str(path), "--data", str(tmp_path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "config.run.max_step" in err and err.count("\n") == 1
