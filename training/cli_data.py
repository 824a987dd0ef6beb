"""`jen data ...`: synthesise, import and check multi-track datasets.

``register(subparsers)`` adds the ``data`` command group and returns its own subparsers so
other modules can add commands beside these (e.g. ``jen data encode``).
"""

from __future__ import annotations

import argparse
import sys
import warnings


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    data = subparsers.add_parser("data", help="make, import and check multi-track (stem) datasets")
    sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND", parser_class=type(data))
    sub.required = True

    p = sub.add_parser("synth", help="synthesise a multi-track dataset (bass, drums, instrument, melody, mix)")
    p.add_argument("--out", required=True, help="output folder (new or empty)")
    p.add_argument("--minutes", type=float, required=True, help="total audio to make, in minutes")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives byte-identical files")
    p.add_argument(
        "--renderer",
        choices=("builtin", "fluidsynth"),
        default="builtin",
        help="builtin: numpy synthesizer, no system packages; fluidsynth: GM soundfont (apt packages)",
    )
    p.add_argument("--workers", type=int, default=1, help="processes rendering songs in parallel")
    p.add_argument(
        "--chorale-fraction",
        type=float,
        default=0.25,
        help="share of songs made from music21's Bach chorales (the rest is procedural)",
    )
    p.add_argument("--styles", default=None, help="comma-separated procedural styles to draw from (default: all)")
    p.add_argument("--soundfont", default=None, help="soundfont for --renderer fluidsynth")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier synth run in --out")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("import", help="convert Slakh2100 or MUSDB18-HQ into the stem-folder format")
    p.add_argument("src", help="dataset folder (searched recursively for tracks)")
    p.add_argument("--layout", choices=("slakh", "musdb"), required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--sample-rate", type=int, default=48000, help="resample to this rate (0 keeps the source rate)")
    p.add_argument("--strict", action="store_true", help="stop at the first track that cannot be converted")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("check", help="validate a stem-folder dataset and list bad songs")
    p.add_argument("dir", help="dataset folder")
    p.add_argument("--strict", action="store_true", help="fail on the first bad song")
    p.set_defaults(func=cmd_check)
    return sub


def _progress(done: int, total: int, name: str) -> None:
    print(f"\r[{done}/{total}] {name}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def cmd_synth(args: argparse.Namespace) -> int:
    from training.data.render_fluidsynth import DEFAULT_SOUNDFONT
    from training.data.synth import SynthConfig, synthesize

    styles = tuple(s.strip() for s in args.styles.split(",") if s.strip()) if args.styles else None
    cfg = SynthConfig(
        minutes=args.minutes, seed=args.seed, renderer=args.renderer, workers=args.workers,
        chorale_fraction=args.chorale_fraction, styles=styles, soundfont=args.soundfont or DEFAULT_SOUNDFONT,
    )  # fmt: skip
    result = synthesize(args.out, cfg, overwrite=args.overwrite, progress=_progress)
    print(
        f"wrote {len(result.songs)} songs ({result.seconds / 60:.2f} min of audio) to {result.out_dir} "
        f"in {result.wall_seconds:.1f} s"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from training.data.adapters import import_dataset
    from training.data.stems import StemDataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StemDataWarning)  # listed below instead
        result = import_dataset(
            args.layout,
            args.src,
            args.out,
            sample_rate=args.sample_rate or None,
            strict=args.strict,
            progress=_progress,
        )
    print(f"imported {len(result.imported)} track(s) into {result.out_dir}, skipped {len(result.problems)}")
    for p in result.problems:
        print(f"  SKIPPED {p}")
    return 1 if result.problems else 0


def cmd_check(args: argparse.Namespace) -> int:
    from training.data.stems import scan_stem_folders

    report = scan_stem_folders(args.dir, strict=args.strict, warn=False)
    print(report.summary())
    return 0 if report.ok else 1
