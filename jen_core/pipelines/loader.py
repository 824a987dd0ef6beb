"""Resolve a model name to a pipeline: ``random:<preset>``, a bundled name, or a checkpoint folder."""

from __future__ import annotations

from pathlib import Path

import torch

from jen_core.checkpoint import load_checkpoint
from jen_core.errors import JenError
from jen_core.model import build_model
from jen_core.pipelines.pipeline import JenPipeline
from jen_core.presets import PRESETS, get_preset

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
BUNDLED = ("small",)


def bundled_path(name: str) -> Path:
    return PRETRAINED_DIR / name


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise JenError(f"device '{device}' asked for but no CUDA GPU is available; use --device cpu")
    return dev


def load_pipeline(model: str = "small", *, device: str | torch.device | None = "cpu", seed: int = 0) -> JenPipeline:
    """model: 'random:tiny' (seeded random weights of a preset), 'small' (the bundled model), or a folder path."""
    dev = resolve_device(device)
    if model.startswith("random:"):
        preset = model.split(":", 1)[1]
        if preset not in PRESETS:
            raise JenError(f"unknown preset '{preset}' in '{model}'; choose one of: {', '.join(PRESETS)}")
        return JenPipeline(build_model(get_preset(preset), seed=seed).to(dev), name=model)
    if model in BUNDLED:
        path = bundled_path(model)
        if not (path / "config.json").exists():
            raise JenError(
                f"the bundled model '{model}' is not in this install ({path}); "
                "train it with `jen train recipe small` or use --model random:tiny"
            )
        return JenPipeline(load_checkpoint(path, device=dev), name=model)
    path = Path(model).expanduser()
    if not path.exists():
        raise JenError(
            f"model '{model}' is neither a bundled model ({', '.join(BUNDLED)}), 'random:<preset>', nor an existing path"
        )
    return JenPipeline(load_checkpoint(path, device=dev), name=str(path))
