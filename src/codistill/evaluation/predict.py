"""Batched inference of a sequence classifier over texts, with dynamic padding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def predict_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 128,
    progress: bool | str = False,
    sharded: bool = False,
) -> np.ndarray:
    """Logits of shape (len(texts), num_labels) as float32.

    Texts are processed in length-sorted batches (far less padding) and returned in input order.
    ``sharded``: under a multi-process launch each process scores its share of the texts and
    every process gets all the logits (every process must call it, with the same texts).
    """
    import torch
    from tqdm.auto import tqdm

    from codistill.utils import distributed

    num_labels = cast(int, model.config.num_labels)  # transformers annotates int | None
    if not texts:
        return np.zeros((0, num_labels), dtype=np.float32)
    device = next(model.parameters()).device
    lengths = [len(t) for t in texts]
    order = np.argsort(lengths, kind="stable")
    if sharded:
        order = np.asarray(distributed.my_share(order.tolist()), dtype=np.int64)
    out = np.zeros((len(texts), num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    batches = range(0, len(order), batch_size)
    desc = progress if isinstance(progress, str) else "predict"
    try:
        with torch.inference_mode():
            for start in tqdm(batches, desc=desc, disable=not progress, leave=False):
                idx = order[start : start + batch_size]
                enc = tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
                ).to(device)
                out[idx] = model(**enc).logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    if sharded and distributed.world_size() > 1:
        for idx, rows in distributed.all_gather((order, out[order])):
            out[idx] = rows
    return out
