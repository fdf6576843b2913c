"""Tiny, randomly initialised models and tokenizers for tests (no downloads).

``make_tiny_model(arch, directory)`` writes a complete HF model directory (config, safetensors
weights, tokenizer) for ``bert``, ``deberta-v2``, ``mpnet``, ``qwen2`` or ``llama``; it loads through the same code as
a real checkpoint. The BERT, DeBERTa and MPNet tokenizers are WordPiece over a small vocabulary; the
Qwen2/Llama tokenizer is a byte-level BPE in which every word is one token, with an end-of-text
token and, like many decoder LMs, no pad token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

TINY_WORDS = (
    "the a an and but not no very really quite film movie story plot acting actors it is was "
    "good great fine excellent wonderful brilliant moving funny charming best love loved "
    "bad awful terrible boring dull worst poor hate hated mess weak slow "
    "this that of to in with for on at by as he she they we i you one two"
).split()

# extra words for decoder tests: verbalizer prompts ("review : ... sentiment :") and instruction data
LLM_WORDS = tuple("review sentiment positive negative question answer yes no user assistant".split())

ARCHITECTURES = ("bert", "deberta-v2", "mpnet", "qwen2", "llama")
DECODERS = ("qwen2", "llama")


def _wordpiece_tokenizer(words: Iterable[str]):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab_list = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?'-", *letters, *(f"##{c}" for c in letters)]
    vocab_list += [w for w in dict.fromkeys(words) if w not in vocab_list]
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def _bytelevel_tokenizer(words: Iterable[str]):
    """A byte-level BPE (GPT-2/Qwen style) trained so every word, with or without a leading
    space, is one token. Byte-level BPE matters: transformers v5 loads any ``qwen2`` directory
    with its own Qwen2 tokenizer class, rebuilt from the saved vocabulary and merges, and a
    word-level vocabulary would silently tokenise to nothing there."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = [*dict.fromkeys(words)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=100_000,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        min_frequency=1,
    )
    tok.train_from_iterator([" ".join(words)] * 2 + [w for w in words], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    # a minimal chat template (role : content), so chat-formatted prompts can be tested
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    return fast


def tiny_config(arch: str, vocab_size: int, *, num_layers: int = 4, hidden: int = 32, num_labels: int = 2):
    common: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
        num_labels=num_labels,
    )
    if arch == "bert":
        from transformers import BertConfig

        return BertConfig(**common, pad_token_id=0)
    if arch == "deberta-v2":
        from transformers import DebertaV2Config

        return DebertaV2Config(
            # position_buckets is accepted through the config kwargs; the stubbed signature omits it
            **common,
            pad_token_id=0,
            relative_attention=True,
            position_buckets=16,  # type: ignore[call-arg]
            pos_att_type=["p2c", "c2p"],
            max_relative_positions=32,
            position_biased_input=False,
        )
    if arch == "mpnet":
        from transformers import MPNetConfig

        return MPNetConfig(**common, pad_token_id=0)  # 32 relative buckets: transformers hard-codes them
    if arch == "qwen2":
        from transformers import Qwen2Config

        return Qwen2Config(**common, num_key_value_heads=2, tie_word_embeddings=False, eos_token_id=0)
    if arch == "llama":
        from transformers import LlamaConfig

        return LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=True, eos_token_id=0, bos_token_id=None)
    raise ValueError(f"unknown tiny architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")


def make_tiny_model(
    arch: str,
    directory: str | Path,
    *,
    num_layers: int = 4,
    hidden: int = 32,
    seed: int = 0,
    words: Iterable[str] = TINY_WORDS,
    head: bool = True,
    causal_lm: bool = False,
    num_labels: int = 2,
) -> Path:
    """Write a tiny random ``arch`` model + tokenizer to ``directory`` and return it.

    ``head=False`` saves the bare backbone (like a sentence encoder), so loading it as a
    classifier initialises a new head, exactly as with the packaged MiniLM. ``causal_lm=True``
    (decoders only) saves a causal LM with its LM head, for verbalizer and token-level KD tests.
    """
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification

    directory = Path(directory)
    tokenizer = _bytelevel_tokenizer(words) if arch in DECODERS else _wordpiece_tokenizer(words)
    config = tiny_config(arch, len(tokenizer), num_layers=num_layers, hidden=hidden, num_labels=num_labels)
    torch.manual_seed(seed)
    if causal_lm and arch not in DECODERS:
        raise ValueError(f"causal_lm needs a decoder architecture ({', '.join(DECODERS)})")
    factory = AutoModelForCausalLM if causal_lm else AutoModelForSequenceClassification if head else AutoModel
    model = factory.from_config(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def make_tiny_sentence_encoder(
    directory: str | Path,
    *,
    pooling: str = "mean",
    normalize: bool = False,
    num_layers: int = 2,
    hidden: int = 16,
    seed: int = 0,
) -> Path:
    """A tiny random BERT saved as a sentence-transformers directory (``modules.json``,
    ``1_Pooling/config.json``, ``2_Normalize/`` when ``normalize``), like the packaged MiniLM."""
    import json

    from codistill.models.pooled import PoolingSpec
    from codistill.models.setfit_format import sentence_transformer_modules

    directory = make_tiny_model("bert", directory, num_layers=num_layers, hidden=hidden, seed=seed, head=False)
    spec = PoolingSpec(pooling, normalize)  # type: ignore[arg-type]
    (directory / "modules.json").write_text(json.dumps(sentence_transformer_modules(normalize)))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(spec.pooling_config(hidden)))
    if normalize:
        (directory / "2_Normalize").mkdir(exist_ok=True)
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": False}))
    return directory
