"""Parameter freezing shared by teacher fine-tuning and distillation."""

from __future__ import annotations

from typing import Any


def freeze_word_embeddings(model: Any) -> int:
    """Stop training the input word-embedding matrix; returns how many parameters that freezes.

    For a small BERT it is about half the parameters, yet a batch touches only a few hundred of
    its rows: the dense gradient and the AdamW update over the whole matrix cost more than the
    rest of the step on a CPU, while the frozen rows barely move in fine-tuning anyway.
    """
    emb = model.get_input_embeddings()
    emb.weight.requires_grad_(False)
    return emb.weight.numel()


def freeze_bottom_layers(model: Any, n: int) -> int:
    """Stop training the first ``n`` transformer layers (and, below them, the embeddings); returns
    how many parameters that freezes. A big teacher fine-tuned on CPU then runs its backward pass
    through the top layers only, while the frozen layers still run forward."""
    from codistill.models.layer_subset import _LAYER_KEY, layer_prefix

    if n <= 0:
        return 0
    names = [name for name, _ in model.named_parameters()]
    prefix = layer_prefix(names)
    frozen = 0
    for name, param in model.named_parameters():
        match = _LAYER_KEY.match(name)
        below = match is not None and match["prefix"] == prefix and int(match["index"]) < n
        if below or ".embeddings." in f".{name}":
            if param.requires_grad:
                frozen += param.numel()
            param.requires_grad_(False)
    return frozen
