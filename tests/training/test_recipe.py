"""`jen train recipe tiny`: every stage end to end, the shipped folder, the model card and resume (training/recipe.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jen_core.errors import JenError
from jen_core.pipelines import load_pipeline
from training.recipe import STAGES, get_recipe, run_recipe

pytestmark = pytest.mark.slow  # one tiny run of all stages (~1 min on 2 cores) shared by the tests below


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("recipe")
    log: list[str] = []
    run_recipe("tiny", out, device="cpu", log=log.append)
    return out, log


def test_every_stage_runs_and_leaves_a_marker(recipe_run: tuple[Path, list[str]]) -> None:
    out, log = recipe_run
    for stage in STAGES:
        marker = json.loads((out / "stages" / f"{stage}.json").read_text())
        assert marker["wall_seconds"] >= 0, stage
        assert f"[recipe] {stage}: finished" in " ".join(log)
    assert json.loads((out / "stages" / "jen1.json").read_text())["steps"] == get_recipe("tiny").jen1_steps


def test_shipped_model_is_float16_and_generates(recipe_run: tuple[Path, list[str]]) -> None:
    out, _ = recipe_run
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["storage_dtype"] == "float16"
    stems = load_pipeline(str(out / "model")).generate("drums at 120 BPM", seconds=0.5, steps=2, seed=1)
    assert set(stems) >= {"bass", "drums", "instrument", "melody"}


def test_eval_stage_reports_held_out_sets_and_the_card_shows_them(recipe_run: tuple[Path, list[str]]) -> None:
    out, _ = recipe_run
    evals = json.loads((out / "stages" / "eval.json").read_text())
    report = json.loads(Path(evals["synthetic"]["report"]).read_text())
    assert report["set_info"]["seed"] == 9999  # never a training seed
    assert report["songs"] >= 1 and "tempo_accuracy >= 0.8" in report["acceptance"]
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "## Evaluation: synthetic set" in card and "generate.tempo_accuracy" in card
    assert "| acceptance check | value | pass |" in card
    assert "jen eval --model" in card  # the command that made the figures


def test_rerun_skips_finished_stages(recipe_run: tuple[Path, list[str]]) -> None:
    out, _ = recipe_run
    log: list[str] = []
    run_recipe("tiny", out, device="cpu", log=log.append)
    assert all(f"[recipe] {stage}: done earlier, skipped" in log for stage in STAGES)


def test_eval_stage_reruns_on_its_own_held_out_sets(recipe_run: tuple[Path, list[str]]) -> None:
    # After more training (--steps) the eval stage runs again: it reuses the sets it made, not a new seed.
    out, _ = recipe_run
    sets = out / "eval" / "sets" / "synthetic"
    made = (sets / "dataset.json").stat().st_mtime_ns
    (out / "stages" / "eval.json").unlink()
    log: list[str] = []
    run_recipe("tiny", out, device="cpu", log=log.append)
    assert "[recipe] eval: finished" in " ".join(log)
    assert (sets / "dataset.json").stat().st_mtime_ns == made
    assert json.loads((out / "eval" / "synthetic.json").read_text())["set_info"]["seed"] == 9999


def test_unknown_recipe_and_stage_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(JenError, match="unknown recipe 'huge'"):
        run_recipe("huge", tmp_path)
    with pytest.raises(JenError, match="unknown stage 'polish'"):
        run_recipe("tiny", tmp_path, until="polish")


def test_steps_override_names_stages_and_is_checked() -> None:
    recipe = get_recipe("small-cpu").with_steps({"jen1": 3000, "autoencoder": 5})
    assert (recipe.ae_steps, recipe.jen1_steps) == (5, 3000)
    assert recipe.composer_steps == get_recipe("small-cpu").composer_steps
    with pytest.raises(JenError, match="unknown stage"):
        get_recipe("small-cpu").with_steps({"vocoder": 10})
    with pytest.raises(JenError, match="must be positive"):
        get_recipe("small-cpu").with_steps({"jen1": 0})


def test_cli_steps_flag_is_parsed_with_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jen_cli.main import main as jen_main

    assert jen_main(["train", "recipe", "tiny", "--out", str(tmp_path), "--steps", "jen1"]) == 2
    assert "--steps wants STAGE=N" in capsys.readouterr().err
