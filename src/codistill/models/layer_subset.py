"""Students initialised from a subset of a pretrained model's layers (DistilBERT-style).

Works for any architecture whose transformer blocks live in one indexed list
(``encoder.layer.N`` for BERT/DeBERTa, ``mpnet.encoder.layer.N`` for MPNet, ``model.layers.N``
for Qwen/Llama, ``h.N`` for GPT-2): a config with fewer layers is built, per-layer config lists
(e.g. Qwen2 ``layer_types``) are sliced, and the kept blocks' weights are copied in order.
Everything outside the block list is copied as is: embeddings, the classification head, and
weights the blocks share (DeBERTa's relative embeddings, MPNet's ``relative_attention_bias``).
The result is a plain HF model.

The source may be a pretrained encoder or a fine-tuned teacher: :func:`every_other_layer` is the
DistilBERT initialisation (12 -> 6 layers: 0, 2, 4, 7, 9, 11), which keeps the first and the last
layer so a copied classification head still reads the representation it was trained on.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codistill.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_LAYER_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?(?:layer|layers|h|blocks?))\.(?P<index>\d+)\.(?P<rest>.+)$")


def spread_layers(total: int, keep: int) -> list[int]:
    """``keep`` layer indices spread evenly from the first to the last layer (2 of 6 -> [0, 5])."""
    if not 1 <= keep <= total:
        raise ConfigError(f"cannot keep {keep} of {total} layers")
    if keep == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def every_other_layer(total: int) -> list[int]:
    """Half the layers (rounded up), spread to keep the first and the last (DistilBERT's choice)."""
    return spread_layers(total, (total + 1) // 2)


def layer_prefix(state_keys: Sequence[str]) -> str:
    """The state-dict prefix of the block list (the first indexed container found)."""
    for key in state_keys:
        match = _LAYER_KEY.match(key)
        if match:
            return match["prefix"]
    raise ConfigError("could not find an indexed list of transformer layers in this model")


def keep_layers(model: PreTrainedModel, layers: int | Sequence[int]) -> PreTrainedModel:
    """A new model of the same class holding only ``layers`` (a count, or explicit indices)."""
    config = model.config
    total = getattr(config, "num_hidden_layers", None)
    if total is None:
        raise ConfigError(f"{config.model_type}: config has no num_hidden_layers; cannot take a layer subset")
    indices = spread_layers(total, layers) if isinstance(layers, int) else list(layers)
    if not indices or sorted(set(indices)) != list(indices) or indices[0] < 0 or indices[-1] >= total:
        raise ConfigError(f"layer indices must be increasing, unique and within 0..{total - 1}; got {list(indices)}")

    new_config = copy.deepcopy(config)
    new_config.num_hidden_layers = len(indices)
    for attr, value in list(vars(config).items()):
        # per-layer settings (Qwen2 layer_types, etc.) must follow the kept layers
        if attr != "id2label" and isinstance(value, (list, tuple)) and len(value) == total and total > 1:
            setattr(new_config, attr, type(value)(value[i] for i in indices))

    source_state = model.state_dict()
    prefix = layer_prefix(list(source_state))
    new_index = {old: new for new, old in enumerate(indices)}
    state = {}
    for key, tensor in source_state.items():
        match = _LAYER_KEY.match(key)
        if match and match["prefix"] == prefix:
            old = int(match["index"])
            if old in new_index:
                state[f"{prefix}.{new_index[old]}.{match['rest']}"] = tensor.clone()
        else:
            state[key] = tensor.clone()

    student = type(model)(new_config)
    missing, unexpected = student.load_state_dict(state, strict=False)
    # tied or persistent buffers may legitimately be absent; real parameters may not
    missing_params = [k for k in missing if k in dict(student.named_parameters())]
    if missing_params or unexpected:
        raise ConfigError(
            f"layer subset does not fit {type(model).__name__}: missing {missing_params[:5]}, unexpected {unexpected[:5]}"
        )
    student.config.codistill_layer_subset = {"source_layers": total, "kept": list(indices)}
    return student


def derive_student(
    source: str,
    layers: int | Sequence[int],
    output_dir: str | Path,
    *,
    num_labels: int = 2,
    label_names: tuple[str, ...] | None = None,
    seed: int = 0,
) -> Path:
    """Load ``source`` (packaged name, path or hub id), keep ``layers`` and save a normal HF model."""
    from codistill.models.loading import load_classifier, load_tokenizer, resolve_model
    from codistill.utils.io import atomic_directory, check_output_dir
    from codistill.utils.seed import seed_everything

    check_output_dir(output_dir, kind="student")
    ref = resolve_model(source)
    tokenizer = load_tokenizer(ref)
    seed_everything(seed)  # the classification head may be freshly initialised
    model = load_classifier(ref, num_labels=num_labels, label_names=label_names, tokenizer=tokenizer)
    student = keep_layers(model, layers)
    with atomic_directory(output_dir, "student") as tmp:
        student.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(output_dir)
