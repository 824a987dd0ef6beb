"""`jen export`, `jen generate --backend`, `jen bench` from the command line; TensorRT and GPU paths."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import soundfile as sf

from export.parity import si_sdr_db
from jen_cli.main import main
from jen_core.errors import JenError

ROOT = Path(__file__).resolve().parents[2]
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_export_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(["export", "onnx", "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: model ") and "nor an existing path" in err
    rc, _, err = _run(["export", "onnx", "--model", "random:tiny", "--out", str(tmp_path / "o"), "--opset", "25"], capsys)
    assert rc == 2 and err == "error: --opset 25 is not supported: choose 14-20 (default 17)\n"


def test_generate_with_the_onnx_backend_matches_torch(tiny_export: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--prompt", "funky", "--seconds", "0.5", "--steps", "3", "--stems", "bass,drums", "--seed", "4"]
    rc, out, _ = _run(["generate", "--backend", "onnx", "--model", str(tiny_export), "--out", str(tmp_path / "o"), *common],
                      capsys)
    assert rc == 0 and "drums.wav" in out
    assert _run(["generate", "--model", "random:tiny", "--out", str(tmp_path / "t"), *common], capsys)[0] == 0
    for stem in ("bass", "drums", "mix"):
        onnx_audio, rate = sf.read(tmp_path / "o" / f"{stem}.wav", dtype="float32")
        torch_audio, _ = sf.read(tmp_path / "t" / f"{stem}.wav", dtype="float32")
        assert rate == 48000 and onnx_audio.shape == (24000, 2)
        assert si_sdr_db(torch_audio, onnx_audio) >= 30.0


def test_bench_json(tiny_export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(["bench", "--model", str(tiny_export), "--backend", "onnx", "--stems", "2", "--seconds", "0.5",
                       "--steps", "2", "--repeats", "1", "--warmup", "0", "--json"], capsys)
    report = json.loads(out)
    assert rc == 0 and report["config"]["stems"] == ["bass", "drums"]
    median = report["results"]["onnx"]["median"]
    for key in ("total_s", "time_to_first_audio_s", "text_s", "sampling_s", "decode_s", "rtf", "peak_rss_mb"):
        assert median[key] >= 0.0, key
    assert median["text_s"] + median["sampling_s"] + median["decode_s"] <= median["total_s"] * 1.05
    assert median["rtf"] == pytest.approx(median["total_s"] / 0.5)
    assert report["machine"]["cpus"] >= 1


def test_bench_vs_runs_both_backends_alternately(tiny_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import export.runtimes as runtimes
    from benchmarks.bench import BenchConfig, run_bench

    # reuse the session's export instead of exporting random:tiny again
    monkeypatch.setattr(runtimes, "_export_to_temp", lambda model, seed: types.SimpleNamespace(name=str(tiny_export)))
    order: list[str] = []
    cfg = BenchConfig(model="random:tiny", backends=("onnx", "torch"), stems=1, seconds=0.3, steps=2, repeats=2,
                      warmup=0)
    report = run_bench(cfg, log=lambda msg: order.append(msg.split()[2].rstrip(":")) if msg.startswith("run ") else None)
    assert order == ["onnx", "torch", "torch", "onnx"]  # ABBA
    assert report["speedup"]["backend"] == "onnx" and report["speedup"]["baseline"] == "torch"
    ratio = report["results"]["torch"]["median"]["total_s"] / report["results"]["onnx"]["median"]["total_s"]
    assert report["speedup"]["ratio"] == pytest.approx(ratio)
    with pytest.raises(JenError, match="--stems 9"):
        run_bench(BenchConfig(model=str(tiny_export), backends=("onnx",), stems=9, repeats=1, warmup=0))


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed here; the missing-TensorRT message cannot be shown")
def test_tensorrt_missing_is_a_clear_error(tiny_export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(["export", "tensorrt", "--onnx", str(tiny_export)], capsys)
    assert rc == 2 and err.startswith("error: TensorRT is not installed: pip install tensorrt") and err.count("\n") == 1
    from export.runtimes import load_pipeline

    with pytest.raises(JenError, match="TensorRT is not installed"):
        load_pipeline(str(tiny_export), backend="tensorrt")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None or not _cuda(), reason="needs a CUDA GPU")
def test_onnx_cuda_provider_parity(tiny_export: Path, tiny_pipeline) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu (CUDA execution provider) is not installed")
    from export.runtimes.onnx_rt import load_onnx_pipeline

    pipe = load_onnx_pipeline(tiny_export, device="cuda")
    kw = {"seconds": 0.5, "steps": 3, "stems": ["bass"]}
    assert si_sdr_db(tiny_pipeline.generate("x", **kw)["bass"], pipe.generate("x", **kw)["bass"]) >= 30.0


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TENSORRT or not _cuda(), reason="needs TensorRT and a CUDA GPU")
def test_tensorrt_engines_parity(tiny_export: Path, tmp_path: Path, tiny_pipeline) -> None:
    import shutil

    from export.runtimes.tensorrt_rt import load_tensorrt_pipeline
    from export.tensorrt_build import build_engines

    folder = Path(shutil.copytree(tiny_export, tmp_path / "trt"))
    build_engines(folder)
    pipe = load_tensorrt_pipeline(folder)
    kw = {"seconds": 0.5, "steps": 3, "stems": ["bass", "drums"]}
    ref, out = tiny_pipeline.generate("x", **kw), pipe.generate("x", **kw)
    assert all(si_sdr_db(ref[s], out[s]) >= 30.0 for s in ref)


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff not installed")
def test_ruff_clean() -> None:
    paths = [str(ROOT / p) for p in ("export", "benchmarks/bench.py", "benchmarks/cli.py", "benchmarks/__init__.py",
                                     "tests/export")]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_torch_free_modules_import_without_torch() -> None:
    """The serving path's modules, imported with torch (and onnx, transformers) made unimportable."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'onnx', 'transformers', 'safetensors'):\n"
        "            raise ModuleNotFoundError(name, name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import export.runtimes, export.runtimes.onnx_rt, export.runtimes.numpy_pipeline, export.manifest, export.cli\n"
        "import benchmarks.cli, benchmarks.bench, jen_cli.main\n"
        "jen_cli.main.build_parser()\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
