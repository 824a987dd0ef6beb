"""``jen bench``: speed of one model on one or two backends."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="time generation per backend: time to first audio, real-time factor, memory",
                              description="Benchmark text-to-music generation: per-stage times, real-time factor, peak memory.")
    p.add_argument("--model", default="random:small", help="bundled name, random:<preset>, checkpoint or export folder")
    p.add_argument("--backend", default="torch", choices=["torch", "torch-compile", "onnx", "tensorrt"])
    p.add_argument("--vs", default=None, choices=["torch", "torch-compile", "onnx", "tensorrt"],
                   help="a second backend, run alternately in the same process; reports the speed ratio")
    p.add_argument("--stems", default="4", help="how many stems (first N of the model's) or a comma-separated list")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--sampler", default="dpmpp", choices=["ddpm", "ddim", "dpmpp"])
    p.add_argument("--guidance", type=float, default=None, help="CFG scale (default: the model's; 1 disables the CFG batch)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per backend (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per backend first")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: all usable CPUs)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--out", default=None, help="also write the JSON report to this file")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.bench import BenchConfig, run_bench
    from jen_core.errors import JenError

    stems: int | tuple[str, ...]
    stems = int(args.stems) if args.stems.strip().isdigit() else tuple(s.strip() for s in args.stems.split(",") if s.strip())
    if args.vs == args.backend:
        raise JenError("--vs must name a different backend than --backend")
    if args.warmup < 0:
        raise JenError("--warmup must be >= 0")
    backends = (args.backend,) if args.vs is None else (args.backend, args.vs)
    cfg = BenchConfig(model=args.model, backends=backends, stems=stems, seconds=args.seconds, steps=args.steps,
                      sampler=args.sampler, guidance=args.guidance, repeats=args.repeats, warmup=args.warmup,
                      device=args.device, threads=args.threads)
    report = run_bench(cfg, log=None if args.json else print)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        for backend, res in report["results"].items():
            m = res["median"]
            print(f"{backend:>14}: total {m['total_s']:.2f} s  RTF {m['rtf']:.2f}  first audio {m['time_to_first_audio_s']:.2f} s  "
                  f"text {m['text_s']:.3f} s  sampling {m['sampling_s']:.2f} s  decode {m['decode_s']:.2f} s  "
                  f"peak RSS {m['peak_rss_mb']:.0f} MB  (load {res['load_s']:.1f} s)")
        if "speedup" in report:
            s = report["speedup"]
            print(f"{s['backend']} is {s['ratio']:.2f}x the speed of {s['baseline']}")
    return 0
