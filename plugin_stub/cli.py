"""``jen-stub``: play the DAW side of the bridge from a JSON project description.

    jen-stub generate project.json --out DIR [--server HOST:PORT] [--token TOKEN]
    jen-stub compose  project.json --out DIR [--list] [--keep REF ...] [--regenerate STEM ...] [--bars A-B]
    jen-stub audition project.json --out DIR [--seconds S] [--offline block|stems]

Problems the user can fix print one line (``jen-stub: error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from plugin_stub.errors import StubError

if TYPE_CHECKING:  # imported late at run time: a usage error must not wait for grpc and numpy
    from plugin_stub.client import BridgeClient
    from plugin_stub.outputs import TakeFile


def _server(value: str) -> str:
    if not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):\d{1,5}", value) or int(value.rsplit(":", 1)[1]) > 65535:
        raise argparse.ArgumentTypeError(f"--server {value!r} must look like HOST:PORT, e.g. 127.0.0.1:50051")
    return value


def _bars(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)-(\d+)", value)
    if not m or int(m[2]) <= int(m[1]) or int(m[1]) < 1:
        raise argparse.ArgumentTypeError(f"--bars {value!r} must be START-END with 1 <= START < END, e.g. 5-7")
    return int(m[1]), int(m[2])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jen-stub", description="The DAW side of the JEN bridge, driven by a "
                                     "JSON project (see plugin_stub/README.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("project", type=Path, help="project JSON file")
    common.add_argument("--out", type=Path, required=True, help="output folder (stems, mixdown, takes.json)")
    common.add_argument("--server", type=_server, default="127.0.0.1:50051", help="bridge address HOST:PORT")
    common.add_argument("--token", default=None, help="bearer token the server asks for")
    common.add_argument("--token-file", type=Path, default=None, help="read the token from this file")
    common.add_argument("--tls-ca", type=Path, default=None, help="PEM root certificate of a TLS server")
    common.add_argument("--timeout", type=float, default=600.0, help="seconds a job may take (default 600)")
    common.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the server")
    common.add_argument("--quiet", action="store_true", help="print nothing but errors")

    g = sub.add_parser("generate", parents=[common], help="generate the region's stems and place them")
    g.add_argument("--seed", type=int, default=None, help="override the project's seed")
    g.add_argument("--steps", type=int, default=None, help="override the project's diffusion steps")

    c = sub.add_parser("compose", parents=[common], help="co-composition: list, keep and regenerate takes")
    c.add_argument("--list", action="store_true", help="list the session's takes")
    c.add_argument("--keep", nargs="+", default=[], metavar="REF", help="takes to keep: t_<id>, stem:N or a take file")
    c.add_argument("--regenerate", nargs="+", default=[], metavar="STEM", help="stems to regenerate")
    c.add_argument("--bars", type=_bars, default=None, help="with one --regenerate stem: only bars START-END")
    c.add_argument("--seed", type=int, default=None, help="seed for the regeneration")

    a = sub.add_parser("audition", parents=[common], help="listen to the selected takes with the host transport")
    a.add_argument("--session", default=None, help="session id (default: the one in OUT/takes.json)")
    a.add_argument("--seconds", type=float, default=None, help="how long to play (default: to the region end)")
    a.add_argument("--offline", choices=("block", "stems"), default=None,
                   help="render offline (faster than real time): wait for the stream, or play the finished stems")
    a.add_argument("--block-frames", type=int, default=512, help="host block size")
    a.add_argument("--chunk-frames", type=int, default=4096, help="audition chunk size")
    a.add_argument("--max-ahead", type=int, default=4, help="chunks the server may run ahead")
    a.add_argument("--latency-frames", type=int, default=None, help="latency to report (default 2 chunks)")
    a.add_argument("--file", default="audition.wav", help="file for what would have played")
    return parser


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        try:
            return args.token_file.read_text().strip() or None
        except OSError as exc:
            raise StubError(f"cannot read --token-file {args.token_file}: {exc.strerror}") from None
    return args.token


def _client(args: argparse.Namespace) -> BridgeClient:
    from plugin_stub.client import BridgeClient

    ca = None
    if args.tls_ca is not None:
        try:
            ca = args.tls_ca.read_bytes()
        except OSError as exc:
            raise StubError(f"cannot read --tls-ca {args.tls_ca}: {exc.strerror}") from None
    return BridgeClient(args.server, token=_token(args), timeout=args.timeout, connect_timeout=args.connect_timeout,
                        tls_ca=ca)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def _print_files(args: argparse.Namespace, files: Sequence[TakeFile | None], out: Path) -> None:
    for f in files:
        if f is None:
            continue
        _say(args, f"wrote {out / f.file} (start sample {f.start_sample}, {f.frames} frames, {f.bit_depth}-bit)")


def cmd_generate(args: argparse.Namespace) -> int:
    from plugin_stub.generate import run_generate
    from plugin_stub.outputs import OutputFolder
    from plugin_stub.project import load_project

    project = load_project(args.project)
    if args.seed is not None:
        project.seed = args.seed
    if args.steps is not None:
        project.steps = args.steps
    out = OutputFolder(args.out)
    with _client(args) as client:
        report = run_generate(project, client, out)
    _print_files(args, report.files, out.path)
    _say(args, f"wrote {out.path / report.mixdown['file']} (timeline mixdown from sample "
               f"{report.mixdown['start_sample']}, {report.mixdown['frames']} frames); "
               f"session {report.result.session_id}")
    return 0


def cmd_compose(args: argparse.Namespace) -> int:
    from plugin_stub.compose import CoComposer
    from plugin_stub.outputs import OutputFolder
    from plugin_stub.project import load_project

    project = load_project(args.project)
    if args.bars is not None and len(args.regenerate) != 1:
        raise StubError("--bars regenerates bars of one stem: give exactly one --regenerate stem")
    out = OutputFolder(args.out)
    with _client(args) as client:
        composer = CoComposer(project, client, out)
        first = composer.start()
        if first is not None:
            _print_files(args, [out.by_id(s.take_id) for s in first.stems.values()], out.path)
        if args.keep:
            composer.keep(args.keep)
        if args.regenerate:
            result = composer.regenerate(args.regenerate, bars=args.bars, seed=args.seed)
            _print_files(args, [out.by_id(s.take_id) for s in result.stems.values()], out.path)
        if args.list or not (args.keep or args.regenerate or args.quiet):
            files = {t.take_id: t.file for t in out.takes}
            for take in composer.takes():
                mark = "*" if take.selected else " "
                bars = f" bars {take.start_bar}-{take.end_bar}" if take.HasField("start_bar") else ""
                print(f"{mark} {take.stem:<10} {take.take_id}  {files.get(take.take_id, '(not in this folder)')}{bars}")
    _say(args, f"session {composer.session_id}; mixdown {out.path / 'mixdown.wav'}")
    return 0


def cmd_audition(args: argparse.Namespace) -> int:
    from fractions import Fraction

    from plugin_stub.audition import run_audition
    from plugin_stub.outputs import OutputFolder
    from plugin_stub.project import load_project
    from plugin_stub.wav import write_wav

    project = load_project(args.project)
    out = OutputFolder(args.out)
    t = project.transport
    t.offline = args.offline is not None
    start, end = project.region_samples
    if args.seconds is not None:
        if not (math.isfinite(args.seconds) and args.seconds > 0):
            raise StubError(f"--seconds {args.seconds} must be a positive number")
        frames = int(Fraction(repr(args.seconds)) * t.sample_rate)
    elif t.loop is not None:
        frames = 2 * (t.loop[1] - t.loop[0])
    else:
        frames = end - t.playhead_sample if start <= t.playhead_sample < end else end - start
    session_id = args.session or out.session_id
    common = {"frames": frames, "offline": args.offline or "block", "block_frames": args.block_frames,
              "chunk_frames": args.chunk_frames, "max_ahead": args.max_ahead, "latency_frames": args.latency_frames}
    if args.offline == "stems":
        clips = out.selected_clips()
        if not clips:
            raise StubError(f"no finished stems in {out.path}: run `jen-stub generate` or `compose` first")
        audio, report = run_audition(t, content=(start, end), clips=clips, **common)
    else:
        if not session_id:
            raise StubError(f"no session in {out.path}/takes.json: run `jen-stub generate` first or pass --session")
        with _client(args) as client:
            plan = client.get_session(session_id).plan
            audio, report = run_audition(t, content=(plan.start_sample, plan.end_sample), client=client,
                                         session_id=session_id, **common)
    write_wav(out.path / args.file, audio, sample_rate=t.sample_rate, bit_depth=32, time_reference=report.start_sample,
              description=f"{project.name}: audition ({report.mode})")
    _say(args, json.dumps({"file": str(out.path / args.file), **report.as_dict()}))
    return 0


COMMANDS = {"generate": cmd_generate, "compose": cmd_compose, "audition": cmd_audition}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jen-stub``; returns the exit status (2 for a problem the user can fix)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error (argparse already printed it)
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except StubError as exc:
        print(f"jen-stub: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jen-stub: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
