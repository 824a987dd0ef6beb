"""``jen export onnx`` and ``jen export tensorrt``."""

from __future__ import annotations

import argparse
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="export a model to ONNX, or build TensorRT engines from an export",
                              description="Export a model for fast inference (ONNX; TensorRT engines from the ONNX files).")
    sub = p.add_subparsers(dest="export_command", metavar="FORMAT", parser_class=type(p))
    sub.required = True

    o = sub.add_parser("onnx", help="UNets (K = 1, 4; causal and bidirectional), decoder, encoder, text encoder + manifest")
    o.add_argument("--model", required=True, help="bundled name (small), random:<preset>, or checkpoint folder")
    o.add_argument("--out", required=True, help="output folder (new, empty, or a previous export)")
    o.add_argument("--opset", type=int, default=17, help="ONNX opset (14-20; default 17)")
    o.add_argument("--fp16", action="store_true", help="float16 UNet/decoder/encoder graphs (for GPUs; CPU runs float32 best)")
    o.add_argument("--seed", type=int, default=0, help="weights seed for random:<preset> models")
    o.set_defaults(func=cmd_onnx)

    t = sub.add_parser("tensorrt", help="build TensorRT engines for an ONNX export (needs TensorRT and a GPU)")
    t.add_argument("--onnx", required=True, help="an export folder written by `jen export onnx`")
    t.add_argument("--fp16", action="store_true", help="allow float16 kernels")
    t.add_argument("--max-batch", type=int, default=8, help="largest batch the engines accept (default 8)")
    t.add_argument("--workspace-gb", type=float, default=4.0, help="builder workspace in GiB")
    t.set_defaults(func=cmd_tensorrt)


def cmd_onnx(args: argparse.Namespace) -> int:
    from export.onnx_export import check_opset, export_onnx

    check_opset(args.opset)  # before the slow imports and model load
    t0 = time.perf_counter()
    out = export_onnx(args.model, args.out, opset=args.opset, fp16=args.fp16, seed=args.seed, log=print)
    print(f"exported {args.model} to {out} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_tensorrt(args: argparse.Namespace) -> int:
    from export.tensorrt_build import build_engines, import_tensorrt
    from jen_core.errors import JenError

    import_tensorrt()
    if not 1 <= args.max_batch <= 256:
        raise JenError(f"--max-batch {args.max_batch} is outside 1-256")
    build_engines(args.onnx, fp16=args.fp16, max_batch=args.max_batch, workspace_gb=args.workspace_gb, log=print)
    return 0
