"""The torch backend: jen_core's own ``JenPipeline`` (eager, or with ``torch.compile``), and
:class:`TorchGraphRuntime`, the same model behind the numpy :class:`GraphRuntime` interface
(what the parity tests use to check the numpy orchestration against jen_core's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from jen_core.errors import JenError
from jen_core.model import JenModel
from jen_core.pipelines import JenPipeline
from jen_core.pipelines import load_pipeline as load_torch
from jen_core.unet import UNetCond


def load_torch_pipeline(
    model: str, *, device: str | torch.device | None = "cpu", compile: bool = False, seed: int = 0
) -> JenPipeline:
    """``jen_core.pipelines.load_pipeline``; ``compile=True`` wraps the UNets and the decoder in ``torch.compile``.

    Compilation happens on the first call of each shape (slow once, then faster on GPU; on CPU it needs a
    C++ compiler). The pipeline API is unchanged.
    """
    pipe = load_torch(model, device=device, seed=seed)
    if compile:
        if not hasattr(torch, "compile"):  # pragma: no cover - torch >= 2.0 always has it
            raise JenError("this torch has no torch.compile; use --backend torch")
        for name in ("jen1", "composer"):
            unet = getattr(pipe.model, name)
            if unet is not None:
                unet.compile(dynamic=False)
        pipe.model.autoencoder.decoder.compile(dynamic=False)
    return pipe


class TorchGraphRuntime:
    """A :class:`~export.runtimes.base.GraphRuntime` over a torch :class:`JenModel` (numpy in, numpy out)."""

    backend = "torch"

    def __init__(self, model: JenModel) -> None:
        self.model = model.eval()
        self.device = model.device

    def text(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        tokens = self.model.text_encoder.encode(list(prompts))
        return tokens.states.float().cpu().numpy(), tokens.mask.cpu().numpy()

    def has_unet(self, which: str) -> bool:
        return getattr(self.model, which) is not None

    @torch.inference_mode()
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
        dev = self.device
        cond = UNetCond(
            text=torch.from_numpy(text).to(dev), text_mask=torch.from_numpy(text_mask).to(dev),
            meta=torch.from_numpy(meta).to(dev), uncond=torch.from_numpy(uncond).to(dev),
        )
        eps = getattr(self.model, which)(torch.from_numpy(x).to(dev), torch.from_numpy(t).to(dev), cond, causal=causal)
        return eps.float().cpu().numpy()

    @torch.inference_mode()
    def encode(self, wav: np.ndarray) -> np.ndarray:
        z = self.model.autoencoder.encode(torch.from_numpy(wav).to(self.device))
        return self.model.whitener.whiten(z).float().cpu().numpy()

    @torch.inference_mode()
    def decode(self, z: np.ndarray) -> np.ndarray:
        latent = self.model.whitener.unwhiten(torch.from_numpy(z).to(self.device))
        return self.model.autoencoder.decode(latent).float().cpu().numpy()
