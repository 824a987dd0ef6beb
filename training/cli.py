"""`jen train ...` (autoencoder, latent-stats, jen1, composer) and `jen data ...` (including encode).

Every trainer runs in one process or under torchrun (``python -m jen_cli`` or the ``jen`` script)::

    jen train autoencoder --data DATA --out runs/ae
    jen data encode --model runs/ae/checkpoint --data DATA --out LATENTS
    jen train latent-stats --latents LATENTS --init-from runs/ae/checkpoint --out runs/stats
    torchrun --nproc_per_node 2 -m jen_cli train jen1 --latents LATENTS --init-from runs/stats/checkpoint --out runs/jen1
    jen train composer --latents LATENTS --init-from runs/jen1/checkpoint --out runs/composer

Each writes a jen checkpoint folder ``OUT/checkpoint`` that ``jen generate --model`` loads.
"""

from __future__ import annotations

import argparse

from training import cli_data

RECIPE = """stages, each writing OUT/checkpoint (a jen checkpoint folder of the whole model):
  jen train autoencoder  --data DATA --out runs/ae
  jen data encode        --model runs/ae/checkpoint --data DATA --out LATENTS   (raw latents, made once)
  jen train latent-stats --latents LATENTS --init-from runs/ae/checkpoint --out runs/stats
  jen train jen1         --latents LATENTS --init-from runs/stats/checkpoint --out runs/jen1
  jen train composer     --latents LATENTS --init-from runs/jen1/checkpoint --out runs/composer
(--data DATA instead of --latents encodes on the fly.) Several GPUs or processes:
torchrun --nproc_per_node N -m jen_cli train ... . Run again with the same --out to resume.
Defaults and every config key: jen train STAGE --print-config"""

STAGES = {
    "autoencoder": "masked autoencoder: multi-resolution STFT + L1 + multi-scale STFT GAN, EMA",
    "latent-stats": "Algorithm 1: fit the latent whitening over every stem and mix",
    "jen1": "JEN-1 multi-task diffusion on the mix (text-to-music, inpainting, continuation)",
    "composer": "JEN-1 Composer on bass, drums, instrument, melody (curriculum, self-bootstrapping)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train", help="train the autoencoder, latent whitening, JEN-1 or Composer",
        description=RECIPE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = train.add_subparsers(dest="train_command", metavar="STAGE", parser_class=type(train))
    sub.required = True
    for kind, text in STAGES.items():
        p = sub.add_parser(kind, help=text, description=text)
        p.add_argument("--config", help="JSON config file (keys it leaves out keep their defaults)")
        src = p.add_mutually_exclusive_group()
        src.add_argument("--data", help="stem-folder dataset (song/{bass,drums,instrument,melody}.wav + meta.json)")
        if kind != "autoencoder":
            src.add_argument("--latents", help="pre-encoded latents from `jen data encode`")
        p.add_argument("--out", help="run folder (required); an existing run there is resumed")
        p.add_argument("--init-from", help="jen checkpoint folder to start from (e.g. the previous stage's)")
        if kind != "latent-stats":
            p.add_argument("--max-steps", type=int, help="stop after this many steps (overrides run.max_steps)")
        p.add_argument("--preset", help="model preset when not starting from a checkpoint (tiny, small, paper)")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (torchrun: each rank its own GPU)")
        p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
        p.set_defaults(func=cmd_train, train_kind=kind)

    p = sub.add_parser("recipe", help="every stage that makes a bundled model, in order, resumable (training.recipe)")
    p.add_argument("name", help="recipe name, e.g. small or tiny")
    p.add_argument("--out", required=True, help="recipe folder (data, runs, latents, the shipped model)")
    p.add_argument("--device", default="auto")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every stage's step count")
    p.add_argument("--until", help="stop after this stage")
    p.add_argument("--steps", action="append", default=[], metavar="STAGE=N",
                   help="step count of a training stage (autoencoder, jen1, composer), e.g. --steps jen1=3000; "
                        "repeatable; an interrupted stage resumes up to the new count")  # fmt: skip
    p.set_defaults(func=cmd_recipe)

    data_sub = cli_data.register(subparsers)
    p = data_sub.add_parser("encode", help="pre-encode a stem dataset to autoencoder latents for diffusion training")
    p.add_argument("--model", required=True, help="jen checkpoint folder whose autoencoder encodes")
    p.add_argument("--data", required=True, help="stem-folder dataset")
    p.add_argument("--out", required=True, help="latents folder to write")
    p.add_argument("--chunk-seconds", type=float, default=30.0, help="encode long songs this much at a time")
    p.add_argument("--loudness", choices=("stem", "mix", "none"), default="stem", help="as data.loudness in training")
    p.add_argument("--target-db", type=float, default=-23.0)
    p.add_argument("--strict", action="store_true", help="refuse a dataset with a bad song instead of skipping it")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_encode)


def cmd_train(args: argparse.Namespace) -> int:
    from jen_core.errors import JenError
    from training.runner import run_training

    overrides = {"preset": args.preset} if args.preset else None
    if args.print_config:
        import json

        from training.config import config_to_dict, load_config

        print(json.dumps(config_to_dict(load_config(args.train_kind, args.config, overrides=overrides)), indent=1))
        return 0
    if not args.out:
        raise JenError("--out RUN_DIR is required (the run folder; an existing run there is resumed)")
    path = run_training(
        args.train_kind, out=args.out, config=args.config, data=args.data, latents=getattr(args, "latents", None),
        init_from=args.init_from, max_steps=getattr(args, "max_steps", None), device=args.device, overrides=overrides,
    )
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {path}")
    return 0


def cmd_recipe(args: argparse.Namespace) -> int:
    from jen_core.errors import JenError
    from training.recipe import run_recipe

    steps: dict[str, int] = {}
    for item in args.steps:
        stage, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise JenError(f"--steps wants STAGE=N (e.g. jen1=3000), got '{item}'")
        steps[stage.strip()] = int(count)
    path = run_recipe(args.name, args.out, device=args.device, scale=args.scale, until=args.until, steps=steps)
    print(f"model: {path}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from jen_core.checkpoint import load_checkpoint
    from training.distributed import init_distributed, shutdown
    from training.encode import encode_dataset

    env = init_distributed(args.device)
    try:
        model = load_checkpoint(args.model, device=env.device)
        out = encode_dataset(
            model, args.data, args.out, env=env, chunk_seconds=args.chunk_seconds, loudness=args.loudness,
            target_db=args.target_db, strict=args.strict,
        )
    finally:
        shutdown(env)
    if env.is_main:
        print(f"latents: {out}")
    return 0
