"""PEFT LoRA for teachers and students: settings, wrapping, adapter save/reload, merge + export.

A LoRA run saves only the adapter (``adapter_config.json`` + ``adapter_model.safetensors``) and a
``codistill_adapter.json`` naming the base model as the user gave it (packaged name, path or
hub id), because PEFT's own ``base_model_name_or_path`` cannot express a packaged GGUF model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from codistill.config import ConfigBase
from codistill.errors import AssetError, ConfigError

if TYPE_CHECKING:
    from torch import nn

ADAPTER_MARKER = "codistill_adapter.json"

# Attention projections by architecture: the usual LoRA targets (Hu et al.; QLoRA adds the MLP,
# which `target_modules: all-linear` selects). Unknown architectures fall back to PEFT's table.
DEFAULT_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
    "bert": ["query", "key", "value"],
    "roberta": ["query", "key", "value"],
    "deberta-v2": ["query_proj", "key_proj", "value_proj"],
}


class LoraSettings(ConfigBase):
    """LoRA hyper-parameters; ``target_modules=None`` picks the architecture's default."""

    r: int = Field(8, gt=0, description="rank")
    alpha: float = Field(16, gt=0, description="scaling numerator (lora_alpha); the update is scaled by alpha / r")
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] | None = Field(
        None, description="module names to adapt (default: per architecture)"
    )
    modules_to_save: list[str] | None = Field(
        None, description="extra modules trained in full (default: the classification head)"
    )


def default_targets(model_type: str) -> list[str]:
    if model_type in DEFAULT_TARGETS:
        return list(DEFAULT_TARGETS[model_type])
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as table

    if model_type in table:
        return list(table[model_type])
    raise ConfigError(f"lora: no default target modules for model type {model_type!r}; set lora.target_modules")


def apply_lora(
    model: nn.Module, settings: LoraSettings, task: Literal["classifier", "causal_lm", "seq2seq_lm"]
) -> nn.Module:
    """Wrap ``model`` in a PEFT LoRA model. For classifiers the head (``score``/``classifier``)
    is trained in full: it is new and tiny, and a low-rank update of a random matrix is pointless."""
    from peft import LoraConfig, TaskType, get_peft_model

    config = getattr(model, "config", None)
    targets = settings.target_modules or default_targets(getattr(config, "model_type", ""))
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    if isinstance(targets, list) and not set(targets) & names:
        raise ConfigError(
            f"lora: none of the target modules {targets} exist in this {getattr(config, 'model_type', 'model')}"
        )
    peft_config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,  # type: ignore[arg-type]  # peft annotates int; a float scales the same
        lora_dropout=settings.dropout,
        target_modules=targets,
        modules_to_save=settings.modules_to_save,
        task_type={
            "classifier": TaskType.SEQ_CLS,
            "causal_lm": TaskType.CAUSAL_LM,
            "seq2seq_lm": TaskType.SEQ_2_SEQ_LM,
        }[task],
    )
    return get_peft_model(model, peft_config)


def is_peft(model: Any) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(model, PeftModel)


def save_adapter(model: Any, directory: str | Path, base: str) -> Path:
    """Save the adapter of a PEFT model plus the marker naming its base model."""
    directory = Path(directory)
    model.save_pretrained(directory)
    (directory / ADAPTER_MARKER).write_text(json.dumps({"base": base}, indent=1), encoding="utf-8")
    return directory


def adapter_base(directory: str | Path) -> str | None:
    """The base model of a saved adapter directory, or None if it holds no codistill adapter."""
    marker = Path(directory) / ADAPTER_MARKER
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))["base"]


def load_adapter(
    base_model: nn.Module, directory: str | Path, *, merge: bool = True, trainable: bool = False
) -> nn.Module:
    """Attach a saved adapter to ``base_model``; ``merge`` folds it into the weights (plain model,
    no LoRA overhead at inference)."""
    from peft import PeftModel

    if not (Path(directory) / "adapter_config.json").is_file():
        raise AssetError(f"{directory} holds no LoRA adapter (adapter_config.json missing)")
    model = PeftModel.from_pretrained(base_model, str(directory), is_trainable=trainable)
    return model.merge_and_unload() if merge else model


def merge_lora(model: Any) -> Any:
    """The plain transformers model with the LoRA update folded in (what a student exports)."""
    return model.merge_and_unload() if is_peft(model) else model


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
