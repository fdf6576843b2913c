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
