"""`jen eval` end to end on random:tiny with a 2-song set of 2-s clips (training/eval/harness.py, cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jen_core.errors import JenError
from training.eval.cli import main
from training.eval.evalset import load_eval_set, make_eval_set
from training.eval.harness import EvalConfig
from training.eval.report import COMPOSE, GENERATE, PER_STEM, RECON

BOUNDS = ("model", "shuffled", "ground_truth")
pytestmark = pytest.mark.slow  # one end-to-end run (~30-60 s on 2 cores) shared by the tests below


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evalset") / "heldout"
    return make_eval_set(out, seed=9101, minutes=4 / 60, clip_seconds=(2.0, 2.0), chorale_fraction=0.0)


@pytest.fixture(scope="module")
def report(eval_set: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    tmp = tmp_path_factory.mktemp("eval")
    out, plots = tmp / "report.json", tmp / "plots"
    argv = ["--model", "random:tiny", "--set", str(eval_set), "--json", str(out), "--plots", str(plots),
            "--steps", "2", "--seconds", "2", "--no-pitch", "--no-transcription"]  # fmt: skip
    assert main(argv) == 0
    return json.loads(out.read_text()), plots


def test_report_has_every_metric_with_both_bounds(report: tuple[dict, Path]) -> None:
    data, _ = report
    expected = (
        [f"generate.{k}" for k in (*GENERATE, *PER_STEM, "frechet_distance")]
        + [f"compose.{k}" for k in COMPOSE]
        + [f"recon.{k}" for k in RECON]
    )
    assert sorted(data["metrics"]) == sorted(expected)
    for name, entry in data["metrics"].items():
        assert {*BOUNDS, "unit", "better", "description"} <= set(entry), name
        if entry.get("skipped"):  # torchcrepe / basic-pitch switched off above
            assert name.endswith("in_key")
            continue
        if name in ("generate.onset_alignment_ms", "generate.grid_alignment_ms", "compose.onset_alignment_ms"):
            assert entry["ground_truth"] is not None, name  # random audio may have no onsets at all
            continue
        for bound in BOUNDS:
            assert isinstance(entry[bound], int | float), (name, bound)
    recon = data["metrics"]["recon.si_sdr_db"]
    assert recon["ground_truth"] > 100 and recon["model"] < recon["ground_truth"]
    assert recon["opus"] is None or recon["opus"] > recon["shuffled"]
    assert set(recon["per_stem"]) == {"bass", "drums", "instrument", "melody", "mix"}
    assert data["metrics"]["generate.stem_presence"]["ground_truth"] == 1.0
    assert data["metrics"]["generate.family_plausibility"]["ground_truth"] >= 0.75


def test_report_records_the_run(report: tuple[dict, Path], eval_set: Path) -> None:
    data, _ = report
    assert data["schema"] == "jen-eval/1" and data["model"] == "random:tiny" and data["songs"] == 2
    assert data["command"].startswith("jen eval --model random:tiny")
    assert data["set"] == str(eval_set.resolve()) and data["set_info"]["seed"] == 9101
    assert data["seed"] == 0 and data["steps"] == 2 and data["date"]
    assert data["machine"]["cpu_count"] >= 1 and data["machine"]["platform"]
    assert data["latent_bitrate"] == 16800.0
    assert [s["shuffled_prompt_from"] for s in data["per_song"]] == ["song_00001", "song_00000"]
    assert all(s["seconds"] == 2.0 for s in data["per_song"])
    assert any("torchcrepe" in n for n in data["notes"])
    assert set(data["acceptance"]) and all(
        set(c) == {"value", "threshold", "pass"} for c in data["acceptance"].values()
    )


def test_plots_are_written(report: tuple[dict, Path]) -> None:
    data, plots = report
    files = sorted(p.name for p in plots.glob("*.png"))
    assert files == ["metrics.png", "spectrograms_song_00000.png"]
    for name in files:
        head = (plots / name).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n" and (plots / name).stat().st_size > 10_000
    assert sorted(Path(p).name for p in data["plots"]) == files


def test_bad_options_are_one_line_errors(eval_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--model", "random:tiny", "--set", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(JenError, match="unknown or empty --tasks"):
        EvalConfig(model="random:tiny", set_dir=eval_set, tasks=("dance",))
    songs = load_eval_set(eval_set, limit=1, max_seconds=1.5)
    assert len(songs) == 1 and songs[0].seconds == 1.5 and songs[0].bpm and songs[0].key
    assert songs[0].load(24000)["mix"].shape == (2, 36000)
