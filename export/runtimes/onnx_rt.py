"""The ``onnx`` backend: onnxruntime sessions over an export folder (``jen export onnx``).

Needs numpy, onnxruntime and (for MiniLM / T5 text encoders) tokenizers; never torch. The folder
is verified first (``export.manifest.verify_export``: sha256 of every file, no path or external
data outside the folder). CPU execution provider by default; ``device='cuda[:N]'`` uses the CUDA
execution provider where onnxruntime-gpu is installed.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from export.manifest import member, verify_export
from export.onnx_proto import audit_onnx
from export.runtimes.base import unet_graph_name
from export.runtimes.numpy_pipeline import NumpyPipeline
from export.runtimes.tokenize import load_tokenizer
from jen_core.errors import JenError
from jen_core.presets import ModelConfig

_NUMPY_TYPES = {"float32": np.float32, "float16": np.float16, "int64": np.int64, "bool": np.bool_,
                "int32": np.int32, "float64": np.float64}


DECODE_CHUNK_FRAMES = 256  # ~5 s at 50 fps: bounded decoder memory for long clips, same speed


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise JenError("the onnx backend needs onnxruntime: pip install onnxruntime (or onnxruntime-gpu)") from None
    return onnxruntime


def providers_for(device: str | None) -> list[Any]:
    """onnxruntime execution providers for 'cpu', 'cuda', 'cuda:N' or 'auto'."""
    ort = _ort()
    available = ort.get_available_providers()
    dev = (device or "cpu").strip().lower()
    if dev == "auto":
        dev = "cuda" if "CUDAExecutionProvider" in available else "cpu"
    if dev == "cpu":
        return ["CPUExecutionProvider"]
    if dev == "cuda" or dev.startswith("cuda:"):
        if "CUDAExecutionProvider" not in available:
            raise JenError(f"device '{device}' needs onnxruntime-gpu (CUDA execution provider); use --device cpu")
        index = int(dev.split(":", 1)[1]) if ":" in dev else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise JenError(f"unknown device '{device}' for the onnx backend; use cpu, cuda, cuda:N or auto")


def default_threads() -> int:
    """Intra-op threads: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxGraphRuntime:
    """A :class:`~export.runtimes.base.GraphRuntime` on onnxruntime sessions, one per graph in the export."""

    backend = "onnx"

    def __init__(
        self, folder: str | Path, *, device: str | None = "cpu", threads: int | None = None,
        decode_chunk_frames: int = DECODE_CHUNK_FRAMES,
    ) -> None:
        ort = _ort()
        self.folder = Path(folder)
        self.manifest = verify_export(self.folder)
        self.providers = providers_for(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # No busy-waiting between ops: on a shared machine (a DAW's, a CI box) spinning threads steal the CPU the
        # other work needs; measured on 2 busy cores it made the UNet about 2x slower and the decoder slower too.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._sessions: dict[str, Any] = {}
        self._inputs: dict[str, dict[str, Any]] = {}
        for name, graph in self.manifest["graphs"].items():
            path = member(self.folder, graph["file"])
            try:
                session = ort.InferenceSession(str(path), options, providers=self.providers)
            except Exception as exc:  # onnxruntime raises its own exception types
                opset = audit_onnx(path).opsets.get("ai.onnx")
                raise JenError(
                    f"onnxruntime {ort.__version__} cannot load {graph['file']} (opset {opset}): {ort_error(exc)}; "
                    "re-export with `jen export onnx --opset 17`"
                ) from None
            self._sessions[name] = session
            self._inputs[name] = {i.name: _NUMPY_TYPES.get(_short(i.type), np.float32) for i in session.get_inputs()}
        self.tokenizer = load_tokenizer(self.folder, self.manifest)
        self.decode_chunk_frames = decode_chunk_frames
        self.decode_overlap = int(self.manifest.get("decoder_receptive_frames", 0))

    @functools.cached_property
    def config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.manifest["checkpoint"]["config"])

    def run(self, name: str, **feeds: np.ndarray) -> np.ndarray:
        """Run graph ``name`` on the feeds it declares (others are ignored); returns its first output."""
        session = self._sessions.get(name)
        if session is None:
            raise JenError(f"this export has no '{name}' graph; export the model again")
        wanted = self._inputs[name]
        inputs = {k: np.ascontiguousarray(v, dtype=wanted[k]) for k, v in feeds.items() if k in wanted}
        return session.run(None, inputs)[0]

    # ------------------------------------------------------------------ GraphRuntime
    def text(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask = self.tokenizer(prompts)
        return self.run("text_encoder", ids=ids, mask=mask).astype(np.float32, copy=False), mask

    def has_unet(self, which: str) -> bool:
        return unet_graph_name(which, causal=False) in self._sessions

    def unet(
        self,
        which: str,
        *,
        causal: bool,
        x: np.ndarray,
        t: np.ndarray,
        text: np.ndarray,
        text_mask: np.ndarray,
        meta: np.ndarray,
        uncond: np.ndarray,
    ) -> np.ndarray:
        return self.run(unet_graph_name(which, causal=causal), x=x, t=t, text=text, text_mask=text_mask, meta=meta,
                        uncond=uncond)

    def encode(self, wav: np.ndarray) -> np.ndarray:
        return self.run("encoder", wav=wav)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoded ``decode_chunk_frames`` latent frames at a time with the decoder's receptive field as
        overlap: the same samples as one pass (jen_core's chunked decoding), with bounded memory."""
        frames, chunk, overlap = z.shape[-1], self.decode_chunk_frames, self.decode_overlap
        if frames <= chunk or overlap <= 0:
            return self.run("decoder", z=z)
        hop = self.config.autoencoder.hop
        parts = []
        for start in range(0, frames, chunk):
            stop = min(start + chunk, frames)
            lo, hi = max(0, start - overlap), min(frames, stop + overlap)
            wav = self.run("decoder", z=z[..., lo:hi])
            parts.append(wav[..., (start - lo) * hop : (stop - lo) * hop])
        return np.concatenate(parts, axis=-1)


def load_onnx_pipeline(
    folder: str | Path, *, device: str | None = "cpu", threads: int | None = None, name: str | None = None,
    keepalive: Any = None,
) -> NumpyPipeline:
    """A pipeline (JenPipeline's API) running an export folder on onnxruntime; no torch needed."""
    runtime = OnnxGraphRuntime(folder, device=device, threads=threads)
    return NumpyPipeline(runtime, runtime.config, name=name or str(folder), keepalive=keepalive)


def ort_error(exc: BaseException) -> str:
    """onnxruntime's exception text cut down to the part a user can act on (one line)."""
    text = " ".join(str(exc).split())
    top = re.search(r"support for domain ai\.onnx is till opset (\d+)", text)
    if top:
        return f"it runs ai.onnx opsets up to {top.group(1)}"
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"/\S+\.(h|cc):\d+ [^)]*\)( const)? ", "", text)  # C++ source location and signature
    return text[:200] or type(exc).__name__


def _short(ort_type: str) -> str:
    return {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64",
            "tensor(bool)": "bool", "tensor(int32)": "int32", "tensor(double)": "float64"}.get(ort_type, "float32")
