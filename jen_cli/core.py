"""Core commands: ``jen info``, ``generate``, ``inpaint``, ``continue``, ``compose``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from jen_core.errors import JenError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a preset or model (parameter counts, audio format)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", help="tiny, small or paper")
    src.add_argument("--model", help="a model name or checkpoint folder")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("generate", help="text to music: one WAV per stem plus mix.wav")
    _model_args(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--stems", default="bass,drums,instrument,melody",
                   help="comma-separated stems (Composer), or 'mix' for single-track JEN-1")
    p.add_argument("--seconds", type=float, default=10.0)
    _sampling_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("inpaint", help="regenerate a time range of a track (JEN-1)")
    _model_args(p)
    p.add_argument("--input", required=True, help="stereo audio file")
    p.add_argument("--start", type=float, required=True, help="region start in seconds")
    p.add_argument("--end", type=float, required=True, help="region end in seconds")
    p.add_argument("--prompt", default="")
    _sampling_args(p)
    p.set_defaults(func=cmd_inpaint)

    p = sub.add_parser("continue", help="extend a track (JEN-1, unidirectional mode)")
    _model_args(p)
    p.add_argument("--input", required=True, help="stereo audio file")
    p.add_argument("--seconds", type=float, required=True, help="seconds to add")
    p.add_argument("--prompt", default="")
    _sampling_args(p)
    p.set_defaults(func=cmd_continue)

    p = sub.add_parser("compose", help="keep some stems, generate others (JEN-1 Composer)")
    _model_args(p)
    p.add_argument("--prompt", default="")
    p.add_argument("--keep", action="append", default=[], metavar="STEM=FILE", help="a stem to keep (repeatable)")
    p.add_argument("--generate", required=True, help="comma-separated stems to generate")
    p.add_argument("--context", action="append", default=[], metavar="STEM=FILE",
                   help="current audio of a generated stem, kept outside --region (repeatable)")
    p.add_argument("--region", help="START:END seconds to regenerate (needs --context for each generated stem)")
    p.add_argument("--seconds", type=float, help="length when no stem is kept")
    _sampling_args(p)
    p.set_defaults(func=cmd_compose)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="small", help="bundled name (small), random:<preset>, or checkpoint folder")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--backend", default="torch", choices=["torch", "torch-compile", "onnx", "tensorrt"],
                   help="inference runtime; onnx/tensorrt take an export folder from `jen export onnx` (default torch)")


def _sampling_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bpm", type=float)
    p.add_argument("--key", help="e.g. 'E minor'")
    p.add_argument("--steps", type=int)
    p.add_argument("--sampler", choices=["ddpm", "ddim", "dpmpp"])
    p.add_argument("--guidance", type=float, help="CFG scale (text w, or Composer lambda when stems are kept)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output directory")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "bpm": args.bpm, "key": args.key, "steps": args.steps, "sampler": args.sampler,
        "guidance": args.guidance, "seed": args.seed, "on_step": _progress,
    }


def _progress(done: int, total: int) -> None:
    if sys.stdout.isatty():
        print(f"\rstep {done}/{total}", end="\n" if done == total else "", flush=True)
    elif done == total or done % max(1, total // 4) == 0:
        print(f"step {done}/{total}", flush=True)


def _pipeline(args: argparse.Namespace):  # noqa: ANN202 - imported lazily
    from export.runtimes import load_pipeline

    return load_pipeline(args.model, device=args.device, backend=args.backend)


def _write(out: Path, tracks: dict[str, Any], sample_rate: int) -> None:
    from jen_core.audio import write_wav

    for name, audio in tracks.items():
        path = write_wav(out / f"{name}.wav", audio, sample_rate)
        print(f"wrote {path} ({audio.shape[1]} frames, {audio.shape[0]} ch, {sample_rate} Hz)")


def _prepare(args: argparse.Namespace) -> Path:
    from jen_core.audio import prepare_out_dir

    return prepare_out_dir(args.out)


def _stem_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise JenError("no stems given; e.g. --stems bass,drums")
    return names


def _stem_files(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        stem, sep, path = item.partition("=")
        if not sep or not stem or not path:
            raise JenError(f"{flag} expects STEM=FILE, got '{item}'")
        if stem in out:
            raise JenError(f"{flag} names stem '{stem}' twice")
        out[stem] = path
    return out


def cmd_info(args: argparse.Namespace) -> int:
    from jen_core.model import count_parameters
    from jen_core.presets import get_preset

    if args.model:
        from jen_core.checkpoint import read_config
        from jen_core.pipelines import bundled_path
        from jen_core.presets import ModelConfig

        if args.model.startswith("random:"):
            cfg = get_preset(args.model.split(":", 1)[1])
        else:
            path = bundled_path(args.model) if "/" not in args.model and bundled_path(args.model).exists() else args.model
            cfg = ModelConfig.from_dict(read_config(path)["config"])
    else:
        cfg = get_preset(args.preset or "small")
    counts = count_parameters(cfg)
    ae = cfg.autoencoder
    unet = cfg.jen1 or cfg.composer
    info = {
        "name": cfg.name,
        "parameters": counts,
        "unet_parameters": counts.get("unet_jen1", counts.get("unet_composer")),
        "sample_rate": ae.sample_rate,
        "channels": ae.channels,
        "hop": ae.hop,
        "frame_rate": ae.frame_rate,
        "latent_dim": ae.latent_dim,
        "k": cfg.k,
        "cross_attn_dim": unet.cross_attn_dim if unet else None,
        "text_encoder": cfg.text.kind,
        "stems": list(cfg.stems),
        "max_seconds": cfg.max_seconds,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            if key == "parameters":
                for part, n in value.items():
                    print(f"{'params ' + part:<24}{n / 1e6:10.2f} M")
            else:
                print(f"{key:<24}{value}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from jen_core.audio import mix_stems

    stems = _stem_list(args.stems)
    out = _prepare(args)
    pipe = _pipeline(args)
    t0 = time.perf_counter()
    tracks = pipe.generate(args.prompt, seconds=args.seconds, stems=stems, **_options(args))
    if "mix" not in tracks:
        tracks["mix"] = mix_stems(tracks)
    _write(out, tracks, pipe.sample_rate)
    print(f"generated {args.seconds:g} s of {', '.join(stems)} in {time.perf_counter() - t0:.2f} s")
    return 0


def cmd_inpaint(args: argparse.Namespace) -> int:
    from jen_core.audio import read_audio

    out = _prepare(args)
    pipe = _pipeline(args)
    audio = read_audio(args.input, sample_rate=pipe.sample_rate, channels=pipe.channels)
    result = pipe.inpaint(audio, start=args.start, end=args.end, prompt=args.prompt, **_options(args))
    _write(out, {"inpaint": result}, pipe.sample_rate)
    return 0


def cmd_continue(args: argparse.Namespace) -> int:
    from jen_core.audio import read_audio

    out = _prepare(args)
    pipe = _pipeline(args)
    audio = read_audio(args.input, sample_rate=pipe.sample_rate, channels=pipe.channels)
    result = pipe.continue_(audio, seconds=args.seconds, prompt=args.prompt, **_options(args))
    _write(out, {"continue": result}, pipe.sample_rate)
    return 0


def cmd_compose(args: argparse.Namespace) -> int:
    from jen_core.audio import mix_stems, read_audio

    keep_files = _stem_files(args.keep, "--keep")
    context_files = _stem_files(args.context, "--context")
    generate = _stem_list(args.generate)
    region = None
    if args.region:
        try:
            start, end = (float(x) for x in args.region.split(":"))
        except ValueError:
            raise JenError(f"--region expects START:END in seconds, got '{args.region}'") from None
        region = (start, end)
    out = _prepare(args)
    pipe = _pipeline(args)
    for stem in [*keep_files, *context_files]:
        if stem not in pipe.stems:
            raise JenError(f"unknown stem '{stem}'; choose from {', '.join(pipe.stems)}")
    keep = {s: read_audio(p, sample_rate=pipe.sample_rate, channels=pipe.channels) for s, p in keep_files.items()}
    context = {s: read_audio(p, sample_rate=pipe.sample_rate, channels=pipe.channels) for s, p in context_files.items()}
    tracks = pipe.compose(
        args.prompt, keep=keep, generate=generate, region=region, context=context or None,
        seconds=args.seconds, **_options(args),
    )
    tracks["mix"] = mix_stems({**keep, **tracks})
    _write(out, tracks, pipe.sample_rate)
    return 0
