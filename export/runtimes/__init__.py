"""Inference runtimes behind one interface, and :func:`load_pipeline`, the seam the CLI and the bridge use.

Backends: ``torch`` (jen_core's JenPipeline, eager), ``torch-compile`` (the same with
``torch.compile``), ``onnx`` (onnxruntime on an export folder; no torch needed), ``tensorrt``
(engines built by ``jen export tensorrt``). Every pipeline has JenPipeline's API: ``generate``,
``inpaint``, ``continue_``, ``compose``, ``sample_rate``, ``stems``, ``max_seconds``, ``name``.
This module imports neither torch nor onnxruntime until a backend is loaded.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from export.manifest import MANIFEST
from export.runtimes.base import BACKENDS, GraphRuntime
from jen_core.errors import JenError

__all__ = ["BACKENDS", "GraphRuntime", "is_export_folder", "load_pipeline"]

log = logging.getLogger("jen.export")


def is_export_folder(model: str | Path) -> bool:
    return (Path(model).expanduser() / MANIFEST).is_file()


def load_pipeline(
    model: str = "small", *, device: str | None = "cpu", backend: str = "torch", seed: int = 0, threads: int | None = None
) -> Any:
    """A pipeline for ``model`` on ``backend``.

    model: 'random:<preset>', a bundled name, a checkpoint folder, or (onnx / tensorrt) an export folder.
    With ``onnx`` and a model that is not an export folder, the model is exported to a temporary folder
    first (needs torch); in a torch-free install, pass an export folder. ``threads``: CPU threads for
    onnxruntime (default: all this process may use). ``seed`` only matters for 'random:*' models.
    """
    name = (backend or "torch").strip().lower()
    if name not in BACKENDS:
        raise JenError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    if name in ("torch", "torch-compile"):
        if is_export_folder(model):
            raise JenError(f"{model} is an ONNX export; load it with --backend onnx (or tensorrt)")
        try:
            from export.runtimes.torch_rt import load_torch_pipeline
        except ImportError as exc:
            if exc.name == "torch":
                raise JenError("the torch backend needs torch; install it, or use --backend onnx with an export folder") from None
            raise
        return load_torch_pipeline(model, device=device, compile=name == "torch-compile", seed=seed)
    if name == "onnx":
        from export.runtimes.onnx_rt import load_onnx_pipeline

        if is_export_folder(model):
            return load_onnx_pipeline(model, device=device, threads=threads, name=str(model))
        folder = _export_to_temp(model, seed)
        return load_onnx_pipeline(folder.name, device=device, threads=threads, name=model, keepalive=folder)
    from export.runtimes.tensorrt_rt import load_tensorrt_pipeline

    if not is_export_folder(model):
        raise JenError(
            f"the tensorrt backend needs an export folder with engines: run `jen export onnx --model {model} --out DIR` "
            "then `jen export tensorrt --onnx DIR`"
        )
    return load_tensorrt_pipeline(model, device=device, name=str(model))


def _export_to_temp(model: str, seed: int) -> tempfile.TemporaryDirectory[str]:
    try:
        from export.onnx_export import export_onnx
    except ImportError as exc:
        if exc.name in ("torch", "onnx"):
            raise JenError(
                f"'{model}' is not an ONNX export folder, and exporting it needs torch; "
                f"run `jen export onnx --model {model} --out DIR` where torch is installed and pass --model DIR"
            ) from None
        raise
    folder = tempfile.TemporaryDirectory(prefix="jen-onnx-")
    log.info("exporting %s to ONNX in %s", model, folder.name)
    export_onnx(model, folder.name, seed=seed)
    return folder
