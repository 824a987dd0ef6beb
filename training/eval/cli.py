"""`jen eval`: measure a model on an evaluation set, beside the ground-truth and shuffled-prompt bounds.

``register(subparsers)`` adds the command to the ``jen`` argparse tree; :func:`main` runs it on
its own (``python -m training.eval``), e.g. in tests.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from jen_core.errors import JenError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="measure a model on a held-out stem set (tempo, key, stems, coherence, compose, reconstruction)",
        description=(
            "For every song of --set: generate with its caption, BPM and key and measure; every figure is shown "
            "beside the set's own renders (upper bound) and the same model with prompts shuffled across songs "
            "(lower bound). Make a held-out set with `jen data synth --seed N` (a seed never used for training)."
        ),
    )
    p.add_argument("--model", default="small", help="'small' (bundled), 'random:<preset>', or a checkpoint folder")
    p.add_argument("--set", dest="set_dir", required=True, help="evaluation set: a stem-folder dataset")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="write the report as JSON to PATH (or stdout when no PATH is given)")  # fmt: skip
    p.add_argument("--plots", default=None, metavar="DIR", help="write PNG plots into DIR")
    p.add_argument("--tasks", default="generate,compose,recon", help="comma-separated: generate, compose, recon")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N songs only")
    p.add_argument("--steps", type=int, default=None, help="diffusion steps (default: the model's)")
    p.add_argument("--sampler", default=None, help="sampler name (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="seed of generation and of the prompt shuffle")
    p.add_argument("--seconds", type=float, default=None, help="cap on each clip's length in seconds")
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    p.add_argument("--no-pitch", action="store_true", help="skip the torchcrepe pitch figures")
    p.add_argument("--no-transcription", action="store_true", help="skip the basic-pitch transcription figure")
    p.add_argument("--no-opus", action="store_true", help="skip the Opus reference codec")
    p.set_defaults(func=cmd_eval)
    return p


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_eval(args: argparse.Namespace) -> int:
    from training.eval.harness import EvalConfig, run_eval
    from training.eval.report import format_table

    if not Path(args.set_dir).is_dir():
        raise JenError(
            f"evaluation set {args.set_dir} is not a folder; make one with `jen data synth --out DIR --seed N`"
        )
    command = getattr(args, "command_line", None) or shlex.join(["jen", *sys.argv[1:]])
    cfg = EvalConfig(
        model=args.model,
        set_dir=Path(args.set_dir),
        tasks=tuple(t.strip() for t in args.tasks.split(",") if t.strip()),
        limit=args.limit,
        steps=args.steps,
        sampler=args.sampler,
        seed=args.seed,
        max_seconds=args.seconds,
        device=args.device,
        plots_dir=Path(args.plots) if args.plots else None,
        pitch=not args.no_pitch,
        transcription=not args.no_transcription,
        opus=not args.no_opus,
        command=command,
    )
    result = run_eval(cfg, progress=_progress)
    text = json.dumps(result, indent=2, allow_nan=False)
    if args.json == "-":
        print(text)
        return 0
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    print(format_table(result["metrics"]))  # type: ignore[arg-type]
    print()
    for name, check in result["acceptance"].items():  # type: ignore[union-attr]
        state = {True: "PASS", False: "FAIL", None: "n/a "}[check["pass"]]
        print(f"{state}  {name}: {check['value']}")
    for note in result["notes"]:  # type: ignore[union-attr]
        print(f"note: {note}")
    if result["plots"]:
        print("plots: " + ", ".join(result["plots"]))  # type: ignore[arg-type]
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run `jen eval` with ``argv`` (the arguments after ``eval``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="jen")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["eval", *argv])
    args.command_line = shlex.join(["jen", "eval", *argv])
    try:
        return int(args.func(args) or 0)
    except JenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
