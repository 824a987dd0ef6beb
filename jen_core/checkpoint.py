"""Checkpoint folders: ``config.json`` (format version, model config, sha256 of every
weight file) plus one ``*.safetensors`` per component. Loading never unpickles: weights
are read with safetensors only, every file is checked against its recorded sha256, and
a folder holding pickle-based weights (.bin/.pt/.ckpt/.pkl/.pth) is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from jen_core.errors import CheckpointError
from jen_core.files import atomic_write, sha256_file
from jen_core.model import COMPONENTS, JenModel, build_model
from jen_core.presets import ModelConfig

FORMAT = "jen-checkpoint"
FORMAT_VERSION = 1
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def save_checkpoint(
    model: JenModel, folder: str | Path, *, dtype: str = "float32", extra: dict[str, Any] | None = None
) -> Path:
    """Write ``model`` to ``folder`` (created; existing weight files are replaced atomically).

    dtype: storage dtype of floating-point weights (float32, float16 or bfloat16).
    extra: JSON-serialisable metadata stored under ``"extra"`` in config.json (model card facts).
    """
    if dtype not in _DTYPES:
        raise CheckpointError(f"unknown dtype '{dtype}'; choose one of {', '.join(_DTYPES)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name in COMPONENTS:
        module = getattr(model, name)
        if not isinstance(module, nn.Module):
            continue
        state = {
            k: (v.to(_DTYPES[dtype]) if v.is_floating_point() else v).detach().cpu().contiguous()
            for k, v in module.state_dict().items()
        }
        if not state:  # frozen external encoders (MiniLM, T5) are not stored
            continue
        filename = f"{name}.safetensors"
        atomic_write(folder / filename, lambda tmp, s=state: save_file(s, str(tmp), metadata={"format": FORMAT}))
        files[filename] = sha256_file(folder / filename)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "storage_dtype": dtype,
        "config": model.cfg.to_dict(),
        "files": files,
        "extra": extra or {},
    }
    atomic_write(folder / "config.json", lambda tmp: tmp.write_text(json.dumps(config, indent=2) + "\n"))
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and check ``config.json``; raises CheckpointError with what is wrong."""
    folder = Path(folder)
    if not folder.exists():
        raise CheckpointError(f"model path {folder} does not exist")
    if not folder.is_dir():
        raise CheckpointError(f"model path {folder} is not a checkpoint folder (expected a directory with config.json)")
    config_path = folder / "config.json"
    if not config_path.exists():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise CheckpointError(
                f"{folder} holds pickle-based weights ({', '.join(pickles)}); refusing to unpickle, "
                "convert them to a jen checkpoint (config.json + safetensors)"
            )
        raise CheckpointError(f"{folder} has no config.json; it is not a jen checkpoint folder")
    try:
        data = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{config_path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{config_path} is not a jen checkpoint config (missing format '{FORMAT}')")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{folder} has checkpoint format version {version}; this jen reads version {FORMAT_VERSION}"
        )
    return data


def load_checkpoint(folder: str | Path, *, device: str | torch.device = "cpu") -> JenModel:
    """Load a checkpoint folder into a :class:`JenModel` in float32 on ``device`` (eval mode)."""
    folder = Path(folder)
    data = read_config(folder)
    cfg = ModelConfig.from_dict(data["config"])
    files: dict[str, str] = data.get("files", {})
    model = build_model(cfg)
    for name in COMPONENTS:
        module = getattr(model, name)
        if not isinstance(module, nn.Module):
            continue
        filename = f"{name}.safetensors"
        expected_keys = module.state_dict().keys()
        if not expected_keys:
            continue
        if filename not in files:
            raise CheckpointError(f"{folder} lacks {filename} in config.json 'files'; the checkpoint is incomplete")
        state = _read_safetensors(folder / filename, files[filename])
        missing = sorted(set(expected_keys) - set(state))
        unexpected = sorted(set(state) - set(expected_keys))
        if missing or unexpected:
            raise CheckpointError(
                f"{filename} does not match the config: missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
        ref = module.state_dict()
        for key, value in state.items():
            if value.shape != ref[key].shape:
                raise CheckpointError(f"{filename}: '{key}' has shape {tuple(value.shape)}, config wants {tuple(ref[key].shape)}")
        module.load_state_dict({k: v.to(ref[k].dtype) for k, v in state.items()})
    return model.to(device).eval()


def _read_safetensors(path: Path, expected_sha256: str) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise CheckpointError(f"missing weight file {path}")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise CheckpointError(f"{path.name} does not match its sha256 in config.json; the file is corrupt or was modified")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path.name} is not a valid safetensors file ({exc}); refusing to load it") from None
