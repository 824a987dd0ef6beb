"""`jen train recipe small`: every stage that makes the bundled model, in order, resumable.

Stages: synthetic data -> autoencoder -> pre-encoded latents -> latent stats (Algorithm 1)
-> JEN-1 (K = 1) -> Composer (K = 4, initialised from JEN-1) -> the shipped folder (float16
weights + model card). Each finished stage leaves ``stages/<name>.json`` (wall time, losses);
a rerun skips finished stages and resumes an interrupted training stage from its last
checkpoint, so the recipe can run across sessions or machines.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from jen_core.errors import JenError
from jen_core.files import atomic_write

STAGES = ("data", "autoencoder", "encode", "latent-stats", "jen1", "composer", "ship", "eval")
TRAIN_SEED = 1000  # synthetic training songs
EVAL_SEEDS = {"synthetic": 9999, "fluidsynth": 9998}  # held-out sets: seeds the recipe never trains on


@dataclass(frozen=True)
class Recipe:
    """Seeds, sizes and step counts of every stage. ``scale`` multiplies every step count."""

    preset: str = "small"
    data_minutes: float = 60.0
    data_seed: int = TRAIN_SEED
    ae_steps: int = 20_000
    jen1_steps: int = 40_000
    composer_steps: int = 40_000
    ae_overrides: dict[str, Any] = field(default_factory=dict)
    jen1_overrides: dict[str, Any] = field(default_factory=dict)
    composer_overrides: dict[str, Any] = field(default_factory=dict)
    eval_minutes: float = 4.0  # per held-out set
    eval_limit: int | None = None  # songs per set (None: all)
    eval_seconds: float | None = 10.0  # cap on each evaluated clip
    eval_steps: int | None = None  # diffusion steps in evaluation (None: the model's)
    eval_pitch: bool = True  # torchcrepe and basic-pitch figures

    def scaled(self, scale: float) -> Recipe:
        def n(steps: int) -> int:
            return max(1, int(round(steps * scale)))

        return replace(self, ae_steps=n(self.ae_steps), jen1_steps=n(self.jen1_steps), composer_steps=n(self.composer_steps))

    def with_steps(self, steps: dict[str, int]) -> Recipe:
        """Step counts set per stage (``{"autoencoder": 3000, "jen1": 2000}``): to go further on resume.
        Only the run length changes; learning-rate schedules are part of each stage's config."""
        fields = {"autoencoder": "ae_steps", "jen1": "jen1_steps", "composer": "composer_steps"}
        unknown = sorted(set(steps) - set(fields))
        if unknown:
            raise JenError(f"--steps names unknown stage(s) {', '.join(unknown)}; trained stages: {', '.join(fields)}")
        bad = [f"{k}={v}" for k, v in steps.items() if v < 1]
        if bad:
            raise JenError(f"--steps must be positive: {', '.join(bad)}")
        return replace(self, **{fields[k]: v for k, v in steps.items()})


_GPU_DIFFUSION = {"data": {"batch_size": 16, "segment_seconds": 10.0}, "optim": {"lr": 1e-4, "warmup_steps": 500}}

RECIPES: dict[str, Recipe] = {
    # The bundled model. On a GPU: about an hour per diffusion stage at these step counts.
    "small": Recipe(
        ae_overrides={"data": {"batch_size": 16, "segment_seconds": 1.0}, "loss": {"disc_start": 4000, "w_mel": 2.0}},
        jen1_overrides=_GPU_DIFFUSION,
        composer_overrides={
            **_GPU_DIFFUSION, "curriculum": {"steps": 30_000}, "bootstrap": {"start_step": 30_000},
        },
    ),
    # For tests: every stage runs, in seconds.
    "tiny": Recipe(
        preset="tiny", data_minutes=0.25, ae_steps=2, jen1_steps=2, composer_steps=2,
        eval_minutes=0.2, eval_limit=2, eval_seconds=2.0, eval_steps=2, eval_pitch=False,
        ae_overrides={"data": {"batch_size": 2, "segment_seconds": 0.25, "num_workers": 0}},
        jen1_overrides={"data": {"batch_size": 2, "segment_seconds": 1.0, "num_workers": 0}},
        composer_overrides={"data": {"batch_size": 2, "segment_seconds": 1.0, "num_workers": 0},
                            "bootstrap": {"start_step": None}},
    ),
    # What made the bundled model on one 2-core CPU (measured 2026-12-03, other work sharing the cores at
    # times): data 127 s; AE 3000 steps at 4.4 steps/s (12 min; log-band encoder, iSTFT decoder, one random
    # track per example, no adversarial phase: disc_start beyond the run); encode 33 s; JEN-1 2000 steps at
    # 4.1 steps/s (8 min); Composer 5000 steps at ~4.6 steps/s (18 min). Resume with more steps
    # (--steps STAGE=N) or finish on a GPU with the "small" recipe.
    "small-cpu": Recipe(
        data_minutes=24.0,
        ae_steps=3000,
        jen1_steps=2000,
        composer_steps=5000,
        eval_minutes=2.0, eval_limit=6, eval_seconds=6.0,
        ae_overrides={"data": {"batch_size": 4, "segment_seconds": 0.5, "num_workers": 0}, "tracks": "random",
                      "optim": {"lr": 5e-4, "betas": [0.8, 0.9], "decay_steps": 3000, "final_lr_ratio": 0.1},
                      "loss": {"disc_start": 100_000, "w_wave": 0.1, "w_mel": 2.0}, "run": {"checkpoint_every": 250},
                      "eval_every": 500},
        jen1_overrides={"data": {"batch_size": 4, "segment_seconds": 5.0, "num_workers": 0},
                        "optim": {"lr": 3e-4, "warmup_steps": 100, "decay_steps": 2000, "final_lr_ratio": 0.1},
                        "run": {"checkpoint_every": 200}},
        composer_overrides={"data": {"batch_size": 4, "segment_seconds": 5.0, "num_workers": 0},
                            "optim": {"lr": 3e-4, "warmup_steps": 100, "decay_steps": 5000, "final_lr_ratio": 0.1},
                            "curriculum": {"steps": 1500}, "bootstrap": {"start_step": None},
                            "run": {"checkpoint_every": 250}},
    ),
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise JenError(f"unknown recipe '{name}'; choose one of: {', '.join(RECIPES)}")
    return RECIPES[name]


def run_recipe(
    name: str,
    out: str | Path,
    *,
    device: str = "auto",
    scale: float = 1.0,
    until: str | None = None,
    steps: dict[str, int] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Run (or resume) recipe ``name`` into ``out``; returns the shipped model folder ``out/model``.
    ``steps`` sets the step count of named training stages (after ``scale``); a finished stage stays done."""
    recipe = get_recipe(name).scaled(scale).with_steps(steps or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stages_dir = out / "stages"
    stages_dir.mkdir(exist_ok=True)
    data, latents = out / "data", out / "latents"
    if until is not None and until not in STAGES:
        raise JenError(f"unknown stage '{until}'; stages are {', '.join(STAGES)}")

    def stage(stage_name: str, body: Callable[[], dict[str, Any]]) -> None:
        marker = stages_dir / f"{stage_name}.json"
        if marker.exists():
            log(f"[recipe] {stage_name}: done earlier, skipped")
            return
        log(f"[recipe] {stage_name}: running")
        start = time.perf_counter()
        facts = body()
        facts["wall_seconds"] = round(time.perf_counter() - start, 1)
        atomic_write(marker, lambda tmp: tmp.write_text(json.dumps(facts, indent=1) + "\n"))
        log(f"[recipe] {stage_name}: finished in {facts['wall_seconds']:.0f} s")

    for stage_name, body in _stage_bodies(recipe, out, data, latents, device).items():
        stage(stage_name, body)
        if stage_name == until:
            return out
    _write_card(name, recipe, out, device)
    return out / "model"


def _stage_bodies(
    recipe: Recipe, out: Path, data: Path, latents: Path, device: str
) -> dict[str, Callable[[], dict[str, Any]]]:
    from training.runner import run_training

    def train(kind: str, run: str, steps: int, overrides: dict[str, Any], **paths: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"preset": recipe.preset}
        if kind != "latent-stats":
            base["run"] = {"seed": recipe.data_seed}
        over = _merge(base, overrides)
        ckpt = run_training(kind, out=out / run, max_steps=steps, device=device, overrides=over, **paths)
        return {"checkpoint": str(ckpt), "steps": steps, "final": _last_metrics(out / run)}

    def synth() -> dict[str, Any]:
        from training.data import SynthConfig, synthesize

        result = synthesize(data, SynthConfig(minutes=recipe.data_minutes, seed=recipe.data_seed, renderer="builtin"))
        return {"songs": len(getattr(result, "songs", []) or []), "minutes": recipe.data_minutes, "seed": recipe.data_seed}

    def encode() -> dict[str, Any]:
        from jen_core.checkpoint import load_checkpoint
        from training.distributed import init_distributed
        from training.encode import encode_dataset

        env = init_distributed(device)
        model = load_checkpoint(out / "autoencoder" / "checkpoint", device=env.device)
        encode_dataset(model, data, latents, env=env)
        return {"latents": str(latents)}

    def ship() -> dict[str, Any]:
        from jen_core.checkpoint import load_checkpoint, save_checkpoint

        model = load_checkpoint(out / "composer" / "checkpoint")
        facts = _facts(out)
        save_checkpoint(model, out / "model", dtype="float16", extra={"recipe": facts})
        size = sum(p.stat().st_size for p in (out / "model").iterdir())
        return {"bytes": size}

    def evaluate() -> dict[str, Any]:
        return _evaluate(recipe, out, device)

    return {
        "data": synth,
        "autoencoder": lambda: train("autoencoder", "autoencoder", recipe.ae_steps, recipe.ae_overrides, data=data),
        "encode": encode,
        "latent-stats": lambda: train(
            "latent-stats", "latent-stats", 1, {}, latents=latents, init_from=out / "autoencoder" / "checkpoint"
        ),
        "jen1": lambda: train(
            "jen1", "jen1", recipe.jen1_steps, recipe.jen1_overrides, latents=latents,
            init_from=out / "latent-stats" / "checkpoint",
        ),
        "composer": lambda: train(
            "composer", "composer", recipe.composer_steps, recipe.composer_overrides, latents=latents,
            init_from=out / "jen1" / "checkpoint",
        ),
        "ship": ship,
        "eval": evaluate,
    }


def _eval_set(folder: Path, *, seed: int, minutes: float, renderer: str) -> Path:
    """The held-out set at ``folder``: made once, reused when the eval stage runs again (after more training)
    if its index records the same seed, length and renderer; anything else there stops with make_eval_set's
    error rather than being replaced."""
    from training.eval.evalset import make_eval_set

    index = folder / "dataset.json"
    if index.is_file():
        try:
            made = json.loads(index.read_text())
        except (OSError, ValueError):
            made = {}
        if (made.get("seed"), made.get("minutes"), made.get("renderer")) == (seed, minutes, renderer):
            return folder
    return make_eval_set(folder, seed=seed, minutes=minutes, renderer=renderer)


def _evaluate(recipe: Recipe, out: Path, device: str) -> dict[str, Any]:
    """`jen eval` of the shipped model on held-out sets: the built-in renderer (timbres it trained on) and,
    where the fluidsynth program is installed, FluidSynth's General MIDI timbres (never heard in training)."""
    from training.data.render_fluidsynth import check_fluidsynth
    from training.eval.harness import EvalConfig, run_eval

    facts: dict[str, Any] = {}
    for renderer, seed in (("builtin", EVAL_SEEDS["synthetic"]), ("fluidsynth", EVAL_SEEDS["fluidsynth"])):
        name = "synthetic" if renderer == "builtin" else renderer
        if renderer == "fluidsynth":
            try:
                check_fluidsynth()
            except JenError as exc:
                facts[name] = {"skipped": str(exc)}
                continue
        set_dir = _eval_set(out / "eval" / "sets" / name, seed=seed, minutes=recipe.eval_minutes, renderer=renderer)
        report_path = out / "eval" / f"{name}.json"
        plots = out / "eval" / "plots" / name
        command = (f"jen eval --model {out / 'model'} --set {set_dir} --json {report_path} --plots {plots}"
                   + (f" --limit {recipe.eval_limit}" if recipe.eval_limit else "")
                   + (f" --seconds {recipe.eval_seconds:g}" if recipe.eval_seconds else "")
                   + (f" --steps {recipe.eval_steps}" if recipe.eval_steps else "")
            + ("" if recipe.eval_pitch else " --no-pitch --no-transcription"))
        cfg = EvalConfig(
            model=str(out / "model"), set_dir=set_dir, limit=recipe.eval_limit, max_seconds=recipe.eval_seconds,
            steps=recipe.eval_steps, device="cpu" if device == "cpu" else "auto", plots_dir=plots, command=command,
            pitch=recipe.eval_pitch, transcription=recipe.eval_pitch,
        )
        result = run_eval(cfg)
        text = json.dumps(result, indent=2, allow_nan=False) + "\n"
        atomic_write(report_path, lambda tmp, text=text: tmp.write_text(text))
        facts[name] = {"report": str(report_path), "command": command, "songs": result["songs"],
                       "acceptance": result["acceptance"]}
    return facts


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _last_metrics(run_dir: Path) -> dict[str, float]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return {}
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else {}


def _facts(out: Path) -> dict[str, Any]:
    stages = {}
    for name in STAGES:
        marker = out / "stages" / f"{name}.json"
        if marker.exists():
            stages[name] = json.loads(marker.read_text())
    return {"stages": stages, "machine": _machine()}


def _machine() -> dict[str, Any]:
    import os

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "gpu": gpu, "torch": torch.__version__}


def _write_card(name: str, recipe: Recipe, out: Path, device: str) -> None:
    facts = _facts(out)
    lines = [
        f"# Model card: {recipe.preset} (recipe `{name}`)",
        "",
        "Trained by `jen train recipe` on synthetic multi-track songs (built-in renderer, "
        f"{recipe.data_minutes:g} minutes, seed {recipe.data_seed}; Bach chorales from music21 and procedural styles).",
        "",
        "| stage | steps | wall time (s) | final metrics |",
        "|---|---|---|---|",
    ]
    for stage_name, info in facts["stages"].items():
        final = ", ".join(
            f"{k} {v:.4g}" for k, v in info.get("final", {}).items()
            if isinstance(v, (int, float)) and k.startswith(("loss", "eval", "steps_per_s"))
        )
        lines.append(f"| {stage_name} | {info.get('steps', '')} | {info.get('wall_seconds', '')} | {final} |")
    lines += ["", f"Machine: `{json.dumps(facts['machine'])}`", ""]
    lines += _eval_section(facts["stages"].get("eval", {}))
    lines += ["Recipe:", "", "```json", json.dumps(asdict(recipe), indent=1), "```", ""]
    text = "\n".join(lines)
    atomic_write(out / "MODEL_CARD.md", lambda tmp: tmp.write_text(text))
    if (out / "model").exists():
        atomic_write(out / "model" / "MODEL_CARD.md", lambda tmp: tmp.write_text(text))


def _eval_section(evals: dict[str, Any]) -> list[str]:
    """The card's evaluation figures: every metric beside its bounds, and issue 7's acceptance checks."""
    from training.eval.report import format_table

    lines: list[str] = []
    for set_name, info in evals.items():
        if not isinstance(info, dict):
            continue
        if "skipped" in info:
            lines += [f"## Evaluation: {set_name} set", "", f"Skipped: {info['skipped']}", ""]
            continue
        report_path = Path(info.get("report", ""))
        if not report_path.is_file():
            continue
        report = json.loads(report_path.read_text())
        lines += [f"## Evaluation: {set_name} set ({report['songs']} held-out songs, seed "
                  f"{report.get('set_info', {}).get('seed')}, {report.get('seconds_evaluated')} s evaluated)", "",
                  f"Command: `{info.get('command', report.get('command'))}` "
                  f"({report.get('wall_seconds', 0):.0f} s on {report.get('machine', {}).get('device')})", "",
                  "```", format_table(report["metrics"]), "```", "", "| acceptance check | value | pass |", "|---|---|---|"]
        for check, entry in report["acceptance"].items():
            value = entry["value"]
            shown = "-" if value is None else f"{value:.3f}"
            state = {True: "yes", False: "no", None: "n/a"}[entry["pass"]]
            lines.append(f"| {check} | {shown} | {state} |")
        lines.append("")
    return lines
