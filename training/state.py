"""Trainer checkpoints without pickle: tensors in safetensors, everything else in JSON.

Run folder layout::

    RUN/train_config.json              the resolved config of the run
    RUN/checkpoints/step_00001000/     a jen checkpoint (config.json + *.safetensors) of the whole model
    RUN/checkpoints/step_00001000/trainer/{state.json, state.safetensors}   what resuming needs
    RUN/checkpoint -> checkpoints/step_00001000    symlink to the newest complete one
    RUN/LATEST                         the same name as text (read first; works where symlinks do not)

A checkpoint is written into a hidden staging folder and renamed into place only when every
file is complete; then LATEST and the symlink are replaced atomically. A crash or kill during
the write leaves the previous checkpoint as the latest one, loadable.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from jen_core.checkpoint import save_checkpoint, sha256_file
from jen_core.errors import CheckpointError
from jen_core.files import atomic_write
from jen_core.model import JenModel

STATE_FORMAT = "jen-trainer-state"
STATE_VERSION = 1
_STEP_RE = re.compile(r"^step_(\d{8,})$")


def step_name(step: int) -> str:
    return f"step_{step:08d}"


# ---------------------------------------------------------------------------- writing


def save_training_checkpoint(
    run_dir: str | Path,
    *,
    step: int,
    model: JenModel,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    extra: dict[str, Any] | None = None,
    dtype: str = "float32",
    keep: int = 2,
    write_model: Callable[..., Path] = save_checkpoint,
) -> Path:
    """Write model + trainer state for ``step`` and make it the latest; returns its folder.

    tensors: flat name -> tensor (module weights, optimiser moments, EMA, RNG bytes);
    meta: JSON-serialisable (step, schedule, data position, RNG of numpy/python, config).
    """
    run_dir = Path(run_dir)
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_name(step)
    staging = root / f".{final.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        write_model(model, staging, dtype=dtype, extra=extra)
        trainer = staging / "trainer"
        trainer.mkdir()
        flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(flat, str(trainer / "state.safetensors"), metadata={"format": STATE_FORMAT})
        body = {
            "format": STATE_FORMAT,
            "format_version": STATE_VERSION,
            "step": step,
            "tensors_sha256": sha256_file(trainer / "state.safetensors"),
            **meta,
        }
        (trainer / "state.json").write_text(json.dumps(body, indent=1) + "\n")
        _fsync_tree(staging)
        if final.exists():  # a re-save of the same step (e.g. resumed and stopped at once)
            trash = root / f".{final.name}.old-{os.getpid()}"
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _point_latest(run_dir, final)
    _prune(root, keep=keep, protect=final)
    return final


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _point_latest(run_dir: Path, final: Path) -> None:
    rel = final.relative_to(run_dir)
    atomic_write(run_dir / "LATEST", lambda tmp: tmp.write_text(f"{rel.as_posix()}\n"))
    link = run_dir / "checkpoint"
    tmp = run_dir / f".checkpoint.tmp-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(rel.as_posix(), tmp, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # no symlinks here (e.g. Windows without the privilege): copy instead
        if tmp.is_symlink():
            tmp.unlink()
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        shutil.copytree(final, link)


def _prune(root: Path, *, keep: int, protect: Path) -> None:
    steps = sorted(p for p in root.iterdir() if _STEP_RE.match(p.name))
    for old in steps[: max(0, len(steps) - keep)]:
        if old != protect:
            shutil.rmtree(old, ignore_errors=True)
    for junk in root.glob(".step_*"):  # staging folders of killed writes
        if f"-{os.getpid()}" not in junk.name:
            shutil.rmtree(junk, ignore_errors=True)


# ---------------------------------------------------------------------------- reading


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None when it has none."""
    run_dir = Path(run_dir)
    latest = run_dir / "LATEST"
    if latest.is_file():
        path = run_dir / latest.read_text().strip()
        if (path / "trainer" / "state.json").is_file():
            return path
    link = run_dir / "checkpoint"
    if (link / "trainer" / "state.json").is_file():
        return link.resolve()
    return None


def load_trainer_state(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of a checkpoint's trainer state; the tensors are checked against their sha256."""
    trainer = Path(folder) / "trainer"
    try:
        meta = json.loads((trainer / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read trainer state in {trainer} ({exc})") from None
    if meta.get("format") != STATE_FORMAT or meta.get("format_version") != STATE_VERSION:
        raise CheckpointError(f"{trainer}/state.json is not a version-{STATE_VERSION} jen trainer state")
    path = trainer / "state.safetensors"
    if not path.is_file() or sha256_file(path) != meta.get("tensors_sha256"):
        raise CheckpointError(f"{path} is missing or does not match its sha256; the checkpoint is damaged")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a valid safetensors file ({exc})") from None
    return tensors, meta


# ---------------------------------------------------------------------------- state pieces


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module_tensors(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    start = f"{prefix}."
    state = {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)}
    if not state:
        raise CheckpointError(f"trainer state has no weights for '{prefix}'")
    ref = module.state_dict()
    module.load_state_dict({k: v.to(ref[k].dtype) if k in ref else v for k, v in state.items()})


def optimizer_state(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``opt.state_dict()`` into tensors (per-parameter moments, step counts) and JSON."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, pstate in sd["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer_state(
    prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    start = f"{prefix}.state."
    for name, value in tensors.items():
        if name.startswith(start):
            idx, key = name[len(start):].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()}
              for g in meta["param_groups"]]
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """This process's torch (CPU and CUDA), numpy and python RNG states."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss = random.getstate()
    meta = {
        "numpy": {"kind": kind, "keys": np.asarray(keys).tolist(), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "state": list(py_state), "gauss": gauss},
    }
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda = [tensors[f"rng.cuda.{i}"] for i in range(torch.cuda.device_count()) if f"rng.cuda.{i}" in tensors]
        if cuda:
            torch.cuda.set_rng_state_all(cuda)
    if "numpy" in meta:
        n = meta["numpy"]
        np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"],
                             n["cached_gaussian"]))
    if "python" in meta:
        p = meta["python"]
        random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
