"""The paper's text encoder: a frozen FLAN-T5 encoder (T5EncoderModel + tokenizer) from a local
folder written by ``save_pretrained`` (FLAN-T5-large: 1024-d). Weights load from safetensors
only; a folder with just ``pytorch_model.bin`` is refused, never unpickled.
"""

from __future__ import annotations

import torch

from jen_core.errors import JenError
from jen_core.text.frozen import FrozenHFTextEncoder, check_model_folder


class T5TextEncoder(FrozenHFTextEncoder):
    """Frozen T5 encoder: ``encode(prompts) -> states [B, N, d_model] float32, mask [B, N] bool``.

    N counts the closing ``</s>`` (an empty prompt gives 1 token). A full seq2seq checkpoint
    (T5ForConditionalGeneration) works too: only its encoder weights are used. The model is
    cached per folder in this process and kept out of ``state_dict()``.
    """

    def __init__(self, *, path: str, max_tokens: int = 128, device: str | torch.device = "cpu") -> None:
        if not path:
            raise JenError(
                "text encoder 't5' needs a path: a local FLAN-T5 folder saved with save_pretrained "
                "(config.json, tokenizer files, *.safetensors); set text.path in the config"
            )
        folder = check_model_folder(path, label="T5")
        super().__init__(
            folder=folder, model_class="T5EncoderModel", max_tokens=max_tokens, device=device, label="T5"
        )
