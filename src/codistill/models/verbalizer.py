"""A causal LM as a classifier: log-probabilities of label words after a prompt.

``VerbalizerClassifier`` wraps any HF causal LM (a chat/instruct model needs no trained head)
and returns ``logits`` of shape (B, num_labels): for each label, the log-probability of its
verbalizer word(s) as the next token after ``template`` (log-sum-exp over a label's synonyms).
``PromptTokenizer`` turns raw texts into those prompts (few-shot demonstrations, optional chat
template) and left-pads them, so the next-token distribution is always at position -1.

Together they expose the same "texts -> logits over labels" interface as a sequence classifier:
``predict_logits``, the teacher-signal cache, counterfactual verification and the HF Trainer
(teacher fine-tuning, LoRA) use them unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutputWithPast

from codistill.errors import AssetError, ConfigError
from codistill.models.prompting import Demonstration, PromptTokenizer, VerbalizerConfig

__all__ = [
    "Demonstration",
    "PromptTokenizer",
    "VerbalizerClassifier",
    "VerbalizerConfig",
    "build_verbalizer",
    "load_verbalizer",
]

VERBALIZER_FILE = "verbalizer.json"


class VerbalizerClassifier(nn.Module):
    """Class scores of a causal LM: log p(label word | prompt) at the last (left-padded) position."""

    label_ids: torch.Tensor
    label_group: torch.Tensor

    def __init__(self, lm: nn.Module, label_token_ids: list[list[int]]) -> None:
        super().__init__()
        self.lm: Any = lm  # a transformers causal LM (its config, get_input_embeddings, logits_to_keep)
        config: Any = self.lm.config
        config.num_labels = len(label_token_ids)
        self.config = config
        flat = [t for row in label_token_ids for t in row]
        self.register_buffer("label_ids", torch.tensor(flat, dtype=torch.long), persistent=False)
        self.register_buffer(
            "label_group", torch.tensor([i for i, row in enumerate(label_token_ids) for _ in row]), persistent=False
        )
        self.label_token_ids = label_token_ids

    def get_input_embeddings(self) -> nn.Module:
        return self.lm.get_input_embeddings()

    def forward(
        self, input_ids=None, attention_mask=None, labels=None, inputs_embeds=None, output_hidden_states=False, **_: Any
    ):
        if attention_mask is None:
            ref = input_ids if input_ids is not None else inputs_embeds[..., 0]
            attention_mask = torch.ones(ref.shape[:2], dtype=torch.long, device=ref.device)
        # positions count real tokens only, so a left-padded prompt scores like an unpadded one
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp_min(0)
        out = self.lm(
            input_ids=input_ids,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            output_hidden_states=output_hidden_states,
            logits_to_keep=1,
            use_cache=False,
        )
        logprobs = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
        picked = logprobs[:, self.label_ids]  # (B, number of label tokens)
        # log-sum-exp over each label's synonyms
        logits = torch.stack(
            [torch.logsumexp(picked[:, self.label_group == c], dim=-1) for c in range(self.config.num_labels)], dim=-1
        )
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutputWithPast(
            loss=loss, logits=logits, hidden_states=out.hidden_states if output_hidden_states else None
        )


def is_verbalizer(model: Any) -> bool:
    return isinstance(model, VerbalizerClassifier)


def load_causal_lm(ref: Any, *, dtype: Any = None, trust_remote_code: bool = False) -> Any:
    from transformers import AutoModelForCausalLM

    from codistill.models.loading import _hub_error, resolve_model

    ref = ref if not isinstance(ref, str) else resolve_model(ref)
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code, **ref.pretrained_kwargs()}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        model = AutoModelForCausalLM.from_pretrained(ref.path, **kwargs)
    except OSError as exc:
        raise _hub_error(ref, exc) from None
    except ValueError as exc:
        raise AssetError(f"{ref.name!r} cannot be loaded as a causal LM: {exc}") from None
    except Exception as exc:
        from codistill.models.loading import damaged_weights

        if (error := damaged_weights(ref, exc)) is not None:
            raise error from None
        raise
    return plain_weights(model)


def plain_weights(model: Any) -> Any:
    """A GGUF checkpoint is de-quantised on load, yet transformers keeps marking it quantized,
    which makes the Trainer refuse to fine-tune it (even with LoRA): drop the stale marks."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and str(getattr(quantizer.quantization_config, "quant_method", "")).lower().endswith(
        "gguf"
    ):
        quantizer.remove_quantization_config(model)
        for module in model.modules():
            if hasattr(getattr(module, "config", None), "_is_quantized"):
                module.config._is_quantized = False
    return model


def build_verbalizer(
    model: str, config: VerbalizerConfig, label_names: Sequence[str], *, lm: Any = None, tokenizer: Any = None
) -> tuple[Any, PromptTokenizer]:
    """(classifier, prompt tokenizer) for the causal LM ``model`` (a packaged name, path or hub id)."""
    from codistill.models.loading import load_tokenizer

    tokenizer = tokenizer or load_tokenizer(model)
    prompt_tok = PromptTokenizer(tokenizer, config, config.words(label_names))
    if config.chat and not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"verbalizer: chat=true but {model!r} has no chat template")
    lm = lm if lm is not None else load_causal_lm(model)
    if lm.config.pad_token_id is None:
        lm.config.pad_token_id = tokenizer.pad_token_id
    return VerbalizerClassifier(lm, prompt_tok.label_token_ids()), prompt_tok


def save_verbalizer(
    directory: str | Path, *, base: str, config: VerbalizerConfig, label_names: Sequence[str], adapter: bool
) -> Path:
    """The spec that rebuilds a verbalizer teacher: base LM, prompt, label words, demonstrations."""
    path = Path(directory) / VERBALIZER_FILE
    spec = {"base": base, "label_names": list(label_names), "adapter": adapter, "verbalizer": config.to_dict()}
    path.write_text(json.dumps(spec, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def read_verbalizer_spec(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / VERBALIZER_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def load_verbalizer(directory: str | Path) -> tuple[Any, PromptTokenizer]:
    """Rebuild a saved verbalizer teacher (with its LoRA adapter folded in, if it has one)."""
    spec = read_verbalizer_spec(directory)
    if spec is None:
        raise AssetError(f"{directory} holds no {VERBALIZER_FILE}")
    base = spec["base"]
    if base == ".":
        base = str(directory)  # fully fine-tuned: the LM's weights are in the directory itself
    lm = load_causal_lm(base)
    if spec.get("adapter"):
        from codistill.models.lora import load_adapter

        lm = load_adapter(lm, Path(directory) / "adapter", merge=True)
    return build_verbalizer(base, VerbalizerConfig.from_dict(spec["verbalizer"]), spec["label_names"], lm=lm)
