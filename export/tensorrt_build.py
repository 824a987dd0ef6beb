"""``jen export tensorrt``: build TensorRT engines from an ONNX export folder (where TensorRT is installed).

One serialized engine (``<graph>.plan``) per ONNX graph, with an optimisation profile covering
batch 1..``max_batch`` (the CFG batch and four stems fit in 8), 1..``max_tokens`` text tokens and
latent lengths up to the model's ``max_seconds``. The engines and their sha256 are added to the
manifest, so the loader checks them like every other file. Engines are specific to the GPU and
the TensorRT version that built them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from export.manifest import file_entry, member, verify_export, write_manifest
from jen_core.errors import JenError
from jen_core.presets import ModelConfig


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or a one-line JenError saying how to get it."""
    try:
        import tensorrt
    except ImportError:
        raise JenError(
            "TensorRT is not installed: pip install tensorrt (needs an NVIDIA GPU with CUDA); "
            "or use --backend onnx (onnxruntime)"
        ) from None
    return tensorrt


def profile_ranges(cfg: ModelConfig, *, max_batch: int = 8, opt_seconds: float = 10.0) -> dict[str, tuple[int, int, int]]:
    """(min, opt, max) per symbolic dimension of the exported graphs."""
    unets = [u for u in (cfg.jen1, cfg.composer) if u is not None]
    multiple = max(u.length_multiple for u in unets)
    hop = cfg.autoencoder.hop

    def frames(seconds: float) -> int:
        return max(multiple, math.ceil(math.ceil(seconds * cfg.autoencoder.sample_rate / hop) / multiple) * multiple)

    top = frames(cfg.max_seconds)
    opt = min(frames(opt_seconds), top)
    tokens = cfg.text.max_tokens
    return {
        "batch": (1, 2, max_batch),
        "frames": (multiple, opt, top),
        "samples": (multiple * hop, opt * hop, top * hop),
        "tokens": (1, min(16, tokens), tokens),
    }


def build_engines(
    folder: str | Path,
    *,
    fp16: bool = False,
    max_batch: int = 8,
    workspace_gb: float = 4.0,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build ``<graph>.plan`` for every graph of the export in ``folder`` and record them in its manifest."""
    trt = import_tensorrt()
    folder = Path(folder)
    manifest = verify_export(folder)
    cfg = ModelConfig.from_dict(manifest["checkpoint"]["config"])
    ranges = profile_ranges(cfg, max_batch=max_batch)
    say = log or (lambda _msg: None)
    logger = trt.Logger(trt.Logger.WARNING)
    engines: dict[str, Any] = {}
    for name, graph in manifest["graphs"].items():
        say(f"building TensorRT engine for {name}")
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(member(folder, graph["file"]))):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise JenError(f"TensorRT cannot parse {graph['file']}: {errors.splitlines()[0] if errors else 'unknown error'}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
        if fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        shapes: dict[str, Any] = {}
        for spec in graph["inputs"]:
            lo, opt, hi = (_dims(spec["shape"], ranges, i) for i in range(3))
            profile.set_shape(spec["name"], lo, opt, hi)
            shapes[spec["name"]] = {"min": lo, "opt": opt, "max": hi}
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise JenError(f"TensorRT could not build an engine for {graph['file']}; see the TensorRT log above")
        rel = f"{name}.plan"
        (folder / rel).write_bytes(bytes(serialized))
        manifest["files"][rel] = file_entry(folder, rel)
        engines[name] = {"file": rel, "tensorrt": trt.__version__, "fp16": fp16, "profile": shapes}
    manifest["engines"] = engines
    write_manifest(folder, manifest)
    say(f"wrote {len(engines)} engines to {folder}")
    return folder


def _dims(shape: list[Any], ranges: dict[str, tuple[int, int, int]], which: int) -> tuple[int, ...]:
    out = []
    for dim in shape:
        if isinstance(dim, int):
            out.append(dim)
        elif isinstance(dim, str) and dim in ranges:
            out.append(ranges[dim][which])
        else:
            raise JenError(f"cannot size dynamic dimension {dim!r} for a TensorRT profile; re-export with this jen")
    return tuple(out)
