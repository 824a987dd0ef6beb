"""``jen serve``: run the bridge (gRPC + OSC) in front of one model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.server import ServerConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="serve a model to DAW plugins over gRPC + OSC",
                              description="Serve a model over gRPC (streams stems) and OSC (control/status).")
    p.add_argument("--model", default="small",
                   help="bundled model name, random:<preset> or a checkpoint folder (default: small; no fallback)")
    p.add_argument("--host", default="127.0.0.1", help="gRPC bind address (non-loopback needs --token)")
    p.add_argument("--grpc-port", type=int, default=50051, help="gRPC port (0: pick a free one)")
    p.add_argument("--osc-host", default="127.0.0.1", help="OSC bind address (loopback only)")
    p.add_argument("--osc-port", type=int, default=9000, help="OSC UDP port (0: pick a free one)")
    p.add_argument("--data-dir", default="data/bridge", help="sessions, takes and uploads live here")
    p.add_argument("--token", default=None, help="require 'authorization: Bearer TOKEN' on every call")
    p.add_argument("--token-file", default=None, help="read the token from this file (keeps it out of `ps`)")
    p.add_argument("--tls-cert", default=None, help="PEM certificate chain for TLS")
    p.add_argument("--tls-key", default=None, help="PEM private key for TLS")
    p.add_argument("--queue-size", type=int, default=4, help="jobs that may wait behind the running one")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--backend", default="torch", choices=("torch", "torch-compile", "onnx", "tensorrt"),
                   help="inference runtime; onnx takes an export folder from `jen export onnx` (no torch needed)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds in-flight streams get on SIGTERM")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="skip the one-step warm-up generation before reporting SERVING")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """Check the parsed flags and build the server configuration."""
    from bridge.auth import read_token
    from bridge.server import ServerConfig
    from jen_core.errors import JenError

    for name, port in (("--grpc-port", args.grpc_port), ("--osc-port", args.osc_port)):
        if not 0 <= port <= 65535:
            raise JenError(f"{name} {port} is outside 0-65535")
    if not 1 <= args.queue_size <= 1024:
        raise JenError(f"--queue-size {args.queue_size} is outside 1-1024")
    if not 0 <= args.grace <= 600:
        raise JenError(f"--grace {args.grace} is outside 0-600 seconds")
    return ServerConfig(
        data_dir=Path(args.data_dir), model=args.model, host=args.host, grpc_port=args.grpc_port,
        osc_host=args.osc_host, osc_port=args.osc_port, token=read_token(token=args.token, token_file=args.token_file),
        tls_cert=args.tls_cert, tls_key=args.tls_key, queue_size=args.queue_size, device=args.device, backend=args.backend, grace=args.grace,
        warmup=args.warmup,
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from bridge.server import serve

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(serve(config_from_args(args)))
