"""``python -m tests.bridge.fake_serve [jen serve flags] [--step-seconds S]``: the real server, fake pipeline.

Used by subprocess tests that need a fast-starting server (no torch import); flags are exactly ``jen serve``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bridge.cli import config_from_args, register
from bridge.server import serve
from tests.bridge.fake_pipeline import FakePipeline


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fake_serve")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    parser.add_argument("--step-seconds", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    pipeline = FakePipeline(steps=args.steps, step_seconds=args.step_seconds)
    return asyncio.run(serve(config_from_args(args), loader=lambda: pipeline))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
