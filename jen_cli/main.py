"""The `jen` console script: one argparse tree, subcommands registered by each package.

Each package that owns commands exposes ``register(subparsers)`` in its ``cli`` module and
sets ``func`` on its parsers; handlers take the parsed args and return an exit status.
Heavy imports (torch, grpc) happen inside handlers so ``jen --help`` stays fast.
A :class:`~jen_core.errors.JenError` becomes ``error: <message>`` on one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from jen_core.errors import JenError

# Modules that register subcommands; a module that is missing (an optional package not
# installed, e.g. the torch-free serve path) is skipped.
COMMAND_MODULES = ("jen_cli.core", "bridge.cli", "training.cli", "training.eval.cli", "export.cli", "benchmarks.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        self.print_usage(sys.stderr)
        raise SystemExit(f"error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jen", description="JEN-1 / JEN-1 Composer music generation for DAWs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except JenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
