"""Whole tasks on the onnx backend against the torch backend with the same seed (>= 30 dB SI-SDR per
stem), the numpy orchestration against jen_core's on the same torch modules, and the seam itself."""

from __future__ import annotations

import numpy as np
import pytest

from export.parity import si_sdr_db, stem_si_sdr
from export.runtimes import load_pipeline
from export.runtimes.numpy_pipeline import NumpyPipeline
from export.runtimes.torch_rt import TorchGraphRuntime
from jen_core.errors import CancelledError, JenError

SR = 48000
MIN_DB = 30.0  # acceptance: >= 30 dB SI-SDR per stem against the torch backend
FAST = {"steps": 3, "sampler": "dpmpp"}


def _audio(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((2, int(seconds * SR)))).astype(np.float32)


def _check(ref: dict[str, np.ndarray], out: dict[str, np.ndarray], *, min_db: float = MIN_DB) -> None:
    assert list(out) == list(ref)
    for name, db in stem_si_sdr(ref, out).items():
        assert out[name].shape == ref[name].shape and out[name].dtype == np.float32
        assert db >= min_db, f"{name}: {db:.1f} dB"


def test_generate_all_stems_with_cfg(tiny_pipeline, onnx_pipeline) -> None:
    kw = {"seconds": 0.5, "bpm": 118, "key": "E minor", "seed": 7, **FAST}
    _check(tiny_pipeline.generate("funky bass and drums", **kw), onnx_pipeline.generate("funky bass and drums", **kw))


@pytest.mark.parametrize(("stems", "sampler"), [(["mix"], "ddim"), (["bass", "melody"], "ddpm")])
def test_generate_subsets_and_samplers(tiny_pipeline, onnx_pipeline, stems: list[str], sampler: str) -> None:
    kw = {"seconds": 0.4, "stems": stems, "steps": 4, "sampler": sampler, "seed": 3}
    _check(tiny_pipeline.generate("jazz", **kw), onnx_pipeline.generate("jazz", **kw))


def test_inpaint_and_continue(tiny_pipeline, onnx_pipeline) -> None:
    audio = _audio(0.6, 0)
    kw = {"start": 0.2, "end": 0.4, "prompt": "piano", **FAST}
    ref, out = tiny_pipeline.inpaint(audio, **kw), onnx_pipeline.inpaint(audio, **kw)
    assert si_sdr_db(ref, out) >= MIN_DB
    a, b = int(0.2 * SR) - 480, int(0.4 * SR) + 480
    assert np.array_equal(out[:, :a], audio[:, :a]) and np.array_equal(out[:, b:], audio[:, b:])
    ref = tiny_pipeline.continue_(audio[:, :12000], seconds=0.3, prompt="more", guidance=1.0, **FAST)
    out = onnx_pipeline.continue_(audio[:, :12000], seconds=0.3, prompt="more", guidance=1.0, **FAST)
    assert out.shape == (2, 26400) and si_sdr_db(ref[:, 12000:], out[:, 12000:]) >= MIN_DB


def test_compose_keep_and_region(tiny_pipeline, onnx_pipeline) -> None:
    keep = {"drums": _audio(0.5, 1)}
    kw = {"keep": keep, "generate": ["bass", "instrument"], **FAST}
    _check(tiny_pipeline.compose("groove", **kw), onnx_pipeline.compose("groove", **kw))
    context = {"bass": _audio(0.5, 2)}
    kw = {"keep": keep, "generate": ["bass"], "region": (0.2, 0.5), "context": context, **FAST}
    _check(tiny_pipeline.compose("groove", **kw), onnx_pipeline.compose("groove", **kw))


def test_numpy_orchestration_matches_jen_core_exactly(tiny_pipeline, tiny_model) -> None:
    """The numpy pipeline on the very same torch modules: differences are float rounding only."""
    pipe = NumpyPipeline(TorchGraphRuntime(tiny_model), tiny_model.cfg, name="random:tiny")
    kw = {"seconds": 0.3, "seed": 11, "steps": 4, "sampler": "ddpm"}
    _check(tiny_pipeline.generate("x", **kw), pipe.generate("x", **kw), min_db=90.0)
    kw = {"keep": {"bass": _audio(0.3, 4)}, "generate": ["drums"], "steps": 3}
    _check(tiny_pipeline.compose("y", **kw), pipe.compose("y", **kw), min_db=90.0)


def test_same_api_and_errors(tiny_pipeline, onnx_pipeline) -> None:
    for attr in ("sample_rate", "stems", "max_seconds", "channels", "hop"):
        assert getattr(onnx_pipeline, attr) == getattr(tiny_pipeline, attr)
    assert onnx_pipeline.backend == "onnx"
    bad = [
        lambda p: p.generate("x", seconds=0.5, stems=["vocals"]),
        lambda p: p.generate("x", seconds=31.0),
        lambda p: p.generate("x", seconds=0.5, steps=0),
        lambda p: p.generate("x", seconds=0.5, bpm=900),
        lambda p: p.inpaint(_audio(0.5, 0), start=0.4, end=0.2),
        lambda p: p.compose("x", keep={"bass": _audio(0.5, 0)}, generate=["bass"]),
        lambda p: p.compose("x", keep={}, generate=["bass"]),
    ]
    for call in bad:
        with pytest.raises(JenError) as ref_err:
            call(tiny_pipeline)
        with pytest.raises(JenError) as err:
            call(onnx_pipeline)
        assert str(err.value) == str(ref_err.value)


def test_progress_and_cancel(onnx_pipeline) -> None:
    seen: list[tuple[int, int]] = []
    onnx_pipeline.generate("x", seconds=0.3, stems=["bass"], steps=3, on_step=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with pytest.raises(CancelledError):
        onnx_pipeline.generate("x", seconds=0.3, steps=3, cancel=lambda: len(seen) > 4,
                               on_step=lambda d, t: seen.append((d, t)))


def test_load_pipeline_seam(tiny_export) -> None:
    assert load_pipeline(str(tiny_export), backend="onnx").name == str(tiny_export)
    with pytest.raises(JenError, match="unknown backend"):
        load_pipeline("random:tiny", backend="jax")
    with pytest.raises(JenError, match="--backend onnx"):
        load_pipeline(str(tiny_export), backend="torch")
    with pytest.raises(JenError, match="export folder"):
        load_pipeline("random:tiny", backend="tensorrt")
    with pytest.raises(JenError, match="nor an existing path"):
        load_pipeline("/no/such/export", backend="onnx")
