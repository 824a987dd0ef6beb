"""``jen export onnx``: trace every part of a model into ONNX graphs plus a manifest.

Graphs (``export.graphs``): the UNets (K = 1 ``jen1`` and K = 4 ``composer`` when present, each
bidirectional and causal; dynamic batch, latent length and token count, so the CFG batch works),
the decoder (``unwhiten`` + ``decode``), the encoder (``encode`` + ``whiten``) and the text encoder
(``embed`` for the hash kind; the frozen BERT / T5 plus its ``tokenizer.json`` otherwise).
The TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it handles the
bool-masked SDPA, the dynamic causal mask and ``repeat_interleave`` of these models and onnxruntime
runs the result. ``fp16`` converts the UNet / decoder / encoder graphs to float16 with float32 inputs
and outputs (for GPUs; CPU kernels are float32). Every graph is opened in onnxruntime before the
manifest is written, so an opset onnxruntime cannot run fails the export with a one-line error.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from export.graphs import (
    DECODER_IO,
    ENCODER_IO,
    TEXT_IO,
    UNET_IO,
    DecoderGraph,
    EncoderGraph,
    HashTextGraph,
    HFTextGraph,
    UNetGraph,
    split_cfg_attention,
)
from export.manifest import FORMAT, FORMAT_VERSION, MANIFEST, file_entry, write_manifest
from export.runtimes.base import UNETS, unet_graph_name
from jen_core.checkpoint import FORMAT as CKPT_FORMAT
from jen_core.checkpoint import FORMAT_VERSION as CKPT_VERSION
from jen_core.checkpoint import read_config
from jen_core.errors import JenError
from jen_core.model import JenModel

DEFAULT_OPSET = 17
MIN_OPSET = 14  # scaled_dot_product_attention needs 14
EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's 2 GB limit, with room for the graph itself
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64",
              "tensor(bool)": "bool", "tensor(int32)": "int32", "tensor(double)": "float64"}


def max_opset() -> int:
    """The highest opset the TorchScript-based exporter writes."""
    try:
        from torch.onnx._constants import ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET

        return int(ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
    except ImportError:  # pragma: no cover - older / newer torch layouts
        return 20


def check_opset(opset: int) -> int:
    top = max_opset()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= top:
        raise JenError(f"--opset {opset} is not supported: choose {MIN_OPSET}-{top} (default {DEFAULT_OPSET})")
    return opset


def export_onnx(
    model: str,
    out: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Export ``model`` ('random:<preset>', a bundled name or a checkpoint folder) into ``out``; returns ``out``.

    ``seed`` only matters for 'random:*' models. Raises JenError for a missing checkpoint, an unsupported
    opset, or an output folder that holds something other than a previous export.
    """
    check_opset(opset)
    say = log or (lambda _msg: None)
    jen_model, checkpoint = _resolve(model, seed)
    out = _prepare_out(Path(out))
    cfg = jen_model.cfg
    graphs: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, Any]] = {}
    dtype = "float16" if fp16 else "float32"
    frames = 2 * max(u.length_multiple for u in (cfg.jen1, cfg.composer) if u is not None)

    def add(name: str, module: nn.Module, args: tuple[Any, ...], io: tuple[Any, ...], *, half: bool, **info: Any) -> None:
        say(f"exporting {name}")
        rel = f"{name}.onnx"
        written = _export_graph(module.eval(), args, io, out, rel, opset=opset, half=half)
        spec = _runnable_spec(out / rel, name, opset)
        graphs[name] = {"file": rel, **info, **spec}
        for item in written:
            files[item] = file_entry(out, item)

    with torch.inference_mode(False), torch.no_grad():
        for which in UNETS:
            unet = getattr(jen_model, which)
            if unet is None:
                continue
            for causal in (False, True):
                with split_cfg_attention(unet):
                    add(unet_graph_name(which, causal=causal), UNetGraph(unet, causal=causal), _unet_args(unet, frames),
                        UNET_IO, half=fp16, kind="unet", unet=which, tracks=unet.cfg.tracks, causal=causal,
                        precision=dtype)
        ae, wh = jen_model.autoencoder, jen_model.whitener
        add("decoder", DecoderGraph(ae, wh), (torch.randn(1, cfg.k, frames),), DECODER_IO, half=fp16,
            kind="decoder", precision=dtype)
        add("encoder", EncoderGraph(ae, wh), (torch.randn(1, ae.channels, frames * ae.hop),), ENCODER_IO, half=fp16,
            kind="encoder", precision=dtype)
        text, text_graph = _text_section(jen_model, out, files)
        ids, mask = jen_model.text_encoder.tokenize(["an export prompt", "x"])
        add("text_encoder", text_graph, (ids.cpu(), mask.cpu()), TEXT_IO, half=False, kind="text", precision="float32")

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "opset": opset,
        "precision": dtype,
        "tool": tool_versions(),
        "checkpoint": checkpoint,
        "text": text,
        "decoder_receptive_frames": int(ae.decoder_receptive_frames),
        "graphs": graphs,
        "files": files,
    }
    write_manifest(out, manifest)
    say(f"wrote {out / MANIFEST}")
    return out


def tool_versions() -> dict[str, str]:
    versions = {"exporter": "torch.onnx.export (TorchScript, dynamo=False)", "torch": torch.__version__}
    try:
        versions["jen"] = importlib.metadata.version("jen-bridge")
    except importlib.metadata.PackageNotFoundError:
        versions["jen"] = "source"
    for name in ("onnx", "onnxruntime"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            pass
    return versions


# ---------------------------------------------------------------------------- helpers


def _resolve(model: str, seed: int) -> tuple[JenModel, dict[str, Any]]:
    from jen_core.pipelines.loader import BUNDLED, bundled_path, load_pipeline

    pipe = load_pipeline(model, device="cpu", seed=seed)  # JenError for a missing or unknown model
    if model.startswith("random:"):
        checkpoint = {"format": CKPT_FORMAT, "format_version": CKPT_VERSION, "storage_dtype": "float32",
                      "config": pipe.cfg.to_dict(), "files": {}, "extra": {"source": model, "seed": seed}}
    else:
        checkpoint = read_config(bundled_path(model) if model in BUNDLED else Path(model).expanduser())
    return pipe.model.float().eval(), checkpoint


def _prepare_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise JenError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise JenError(f"--out {out} is not empty and holds no jen export; choose an empty or new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JenError(f"cannot create {out}: {exc.strerror}") from None
    (out / MANIFEST).unlink(missing_ok=True)  # a half-written export must never look complete
    return out


def _unet_args(unet: nn.Module, frames: int) -> tuple[torch.Tensor, ...]:
    cfg = unet.cfg  # type: ignore[attr-defined]
    b, n = 2, 5
    t = torch.tensor([[500.0] * cfg.tracks, [10.0] * cfg.tracks])
    meta = torch.tensor([[120.0, 3.0, 4.0], [0.0, 0.0, 0.0]])
    return (torch.randn(b, cfg.in_channels, frames), t, torch.randn(b, n, cfg.text_dim),
            torch.ones(b, n, dtype=torch.bool), meta, torch.tensor([False, True]))


def _text_section(model: JenModel, out: Path, files: dict[str, Any]) -> tuple[dict[str, Any], nn.Module]:
    enc = model.text_encoder
    kind = model.cfg.text.kind
    if kind == "hash":
        return {"kind": "hash", "vocab_size": enc.vocab_size, "max_tokens": enc.max_tokens, "dim": enc.dim}, HashTextGraph(enc)
    tok = enc.tokenizer  # type: ignore[union-attr]
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise JenError(f"text encoder '{kind}' has no fast tokenizer (tokenizer.json); it cannot be exported")
    path = out / "tokenizer.json"
    path.write_text(backend.to_str())
    files["tokenizer.json"] = file_entry(out, "tokenizer.json")
    text = {
        "kind": "hf", "source": kind, "tokenizer": "tokenizer.json", "max_tokens": enc.max_tokens, "dim": enc.dim,
        "pad_id": int(tok.pad_token_id or 0), "pad_token": str(tok.pad_token or ""),
        "padding_side": str(getattr(tok, "padding_side", "right")),
        "truncation_side": str(getattr(tok, "truncation_side", "right")),
    }
    return text, HFTextGraph(enc.hf_model)  # type: ignore[union-attr]


def _export_graph(
    module: nn.Module, args: tuple[Any, ...], io: tuple[Any, ...], out: Path, rel: str, *, opset: int, half: bool
) -> list[str]:
    """Trace ``module`` to ``out/rel`` (plus ``rel + '.data'`` when it needs external data); returns the files written."""
    inputs, outputs, axes = io
    final = out / rel
    data_rel = f"{rel}.data"
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out) as tmp_dir:
        tmp = Path(tmp_dir) / rel
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(tmp), dynamo=False, opset_version=opset, input_names=inputs,
                                  output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
        except Exception as exc:  # the exporter raises many types; one line is what the user needs
            raise JenError(f"exporting {rel} at opset {opset} failed: {_first_line(exc)}") from None
        external = len(list(Path(tmp_dir).iterdir())) > 1
        if half or external:
            import onnx

            proto = onnx.load(str(tmp))
            if half:
                from onnxruntime.transformers.float16 import convert_float_to_float16

                proto = convert_float_to_float16(proto, keep_io_types=True, disable_shape_infer=external)
            big = proto.ByteSize() > EXTERNAL_DATA_BYTES if not external else True
            (out / data_rel).unlink(missing_ok=True)
            onnx.save_model(proto, str(final), save_as_external_data=big, all_tensors_to_one_file=True,
                            location=data_rel, size_threshold=1024)
            return [rel, data_rel] if big else [rel]
        os.replace(tmp, final)
        (out / data_rel).unlink(missing_ok=True)
        return [rel]


def _runnable_spec(path: Path, name: str, opset: int) -> dict[str, Any]:
    """Open ``path`` in onnxruntime (CPU); JenError if it cannot. Returns the graph's inputs and outputs."""
    import onnxruntime as ort

    from export.runtimes.onnx_rt import ort_error

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise JenError(
            f"onnxruntime {ort.__version__} cannot run the exported {name} graph at opset {opset}: "
            f"{ort_error(exc)}; export with --opset {DEFAULT_OPSET}"
        ) from None

    def spec(items: list[Any]) -> list[dict[str, Any]]:
        return [{"name": i.name, "dtype": _ORT_TYPES.get(i.type, i.type), "shape": list(i.shape)} for i in items]

    return {"inputs": spec(session.get_inputs()), "outputs": spec(session.get_outputs())}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
