"""The ``tensorrt`` backend: engines built by ``jen export tensorrt``, run through the same numpy
:class:`~export.runtimes.base.GraphRuntime` interface as onnxruntime.

Needs TensorRT (>= 10, the name-based tensor API), an NVIDIA GPU, and torch for CUDA buffers and
streams. Where TensorRT or CUDA is missing, loading raises a one-line JenError.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from export.manifest import member, verify_export
from export.runtimes.base import unet_graph_name
from export.runtimes.numpy_pipeline import NumpyPipeline
from export.runtimes.tokenize import load_tokenizer
from export.tensorrt_build import import_tensorrt
from jen_core.errors import JenError
from jen_core.presets import ModelConfig


class TensorRTGraphRuntime:
    """One TensorRT execution context per engine; numpy in, numpy out."""

    backend = "tensorrt"

    def __init__(self, folder: str | Path, *, device: str | None = "cuda") -> None:
        trt = import_tensorrt()
        try:
            import torch
        except ImportError:
            raise JenError("the tensorrt backend uses torch for CUDA buffers: pip install torch") from None
        if not torch.cuda.is_available():
            raise JenError("the tensorrt backend needs a CUDA GPU; none is available (use --backend onnx)")
        self._torch = torch
        dev = device if device and str(device).startswith("cuda") else "cuda"
        self.device = torch.device(dev)
        self.folder = Path(folder)
        self.manifest = verify_export(self.folder)
        engines = self.manifest.get("engines")
        if not isinstance(engines, dict) or not engines:
            raise JenError(f"{folder} has no TensorRT engines; build them with `jen export tensorrt --onnx {folder}`")
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._trt = trt
        self._engines: dict[str, Any] = {}
        self._contexts: dict[str, Any] = {}
        for name, entry in engines.items():
            if entry.get("tensorrt") != trt.__version__:
                raise JenError(
                    f"engine {entry.get('file')} was built with TensorRT {entry.get('tensorrt')}, this is {trt.__version__}; "
                    f"rebuild with `jen export tensorrt --onnx {folder}`"
                )
            engine = runtime.deserialize_cuda_engine(member(self.folder, entry["file"]).read_bytes())
            if engine is None:
                raise JenError(f"TensorRT could not load {entry['file']} (built for another GPU?); rebuild the engines")
            self._engines[name] = engine
            self._contexts[name] = engine.create_execution_context()
        self.tokenizer = load_tokenizer(self.folder, self.manifest)

    @property
    def config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.manifest["checkpoint"]["config"])

    def run(self, name: str, **feeds: np.ndarray) -> np.ndarray:
        torch, trt = self._torch, self._trt
        engine, context = self._engines.get(name), self._contexts.get(name)
        if engine is None:
            raise JenError(f"this export has no '{name}' engine; rebuild the engines")
        outputs: list[Any] = []
        keep: list[Any] = []
        for i in range(engine.num_io_tensors):
            tensor = engine.get_tensor_name(i)
            dtype = _torch_dtype(torch, trt, engine.get_tensor_dtype(tensor))
            if engine.get_tensor_mode(tensor) == trt.TensorIOMode.INPUT:
                buf = torch.from_numpy(np.ascontiguousarray(feeds[tensor])).to(self.device, dtype)
                context.set_input_shape(tensor, tuple(buf.shape))
                context.set_tensor_address(tensor, buf.data_ptr())
                keep.append(buf)
        for i in range(engine.num_io_tensors):
            tensor = engine.get_tensor_name(i)
            if engine.get_tensor_mode(tensor) == trt.TensorIOMode.OUTPUT:
                dtype = _torch_dtype(torch, trt, engine.get_tensor_dtype(tensor))
                buf = torch.empty(tuple(context.get_tensor_shape(tensor)), dtype=dtype, device=self.device)
                context.set_tensor_address(tensor, buf.data_ptr())
                outputs.append(buf)
        stream = torch.cuda.current_stream(self.device)
        if not context.execute_async_v3(stream.cuda_stream):
            raise JenError(f"TensorRT failed to run {name}")
        stream.synchronize()
        return outputs[0].float().cpu().numpy()

    def text(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask = self.tokenizer(prompts)
        return self.run("text_encoder", ids=ids, mask=mask), mask

    def has_unet(self, which: str) -> bool:
        return unet_graph_name(which, causal=False) in self._engines

    def unet(self, which: str, *, causal: bool, x: np.ndarray, t: np.ndarray, text: np.ndarray, text_mask: np.ndarray,
             meta: np.ndarray, uncond: np.ndarray) -> np.ndarray:
        return self.run(unet_graph_name(which, causal=causal), x=x, t=t, text=text, text_mask=text_mask, meta=meta,
                        uncond=uncond)

    def encode(self, wav: np.ndarray) -> np.ndarray:
        return self.run("encoder", wav=wav)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.run("decoder", z=z)


def load_tensorrt_pipeline(folder: str | Path, *, device: str | None = "cuda", name: str | None = None) -> NumpyPipeline:
    """A pipeline (JenPipeline's API) on the TensorRT engines of an export folder."""
    runtime = TensorRTGraphRuntime(folder, device=device)
    return NumpyPipeline(runtime, runtime.config, name=name or str(folder))


def _torch_dtype(torch: Any, trt: Any, dtype: Any) -> Any:
    table = {trt.float32: torch.float32, trt.float16: torch.float16, trt.int64: torch.int64, trt.bool: torch.bool,
             trt.int32: torch.int32}
    if dtype not in table:
        raise JenError(f"unsupported TensorRT tensor type {dtype}")
    return table[dtype]
