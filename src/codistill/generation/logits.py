"""Next-token logits only where a loss reads them.

Losses on instruction data read the logits at positions whose *next* token is a response token
(the logits at position i predict token i + 1); the prompt's positions carry no target. With a
49k-token vocabulary the full (B, T, V) logits (and their gradient) dominate a small LM's
training step, so :func:`logits_at` applies the LM head to the target positions only: transformers
>= 5 causal LMs take a boolean (B, T) ``logits_to_keep`` and return (N, V) logits for its True
positions, in row-major order. Models without it (older transformers, custom code) get the full
logits indexed the same way: the same values, without the saving.

:func:`response_token_ce` also drops most padding: a batch of explanation sequences mixes
prompts with a one-word answer and prompts with a long explanation, and one right-padded batch
spends about a third of its tokens on pads; it runs rows of similar length together instead.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch


def target_positions(response_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) bool: the positions whose next token is a response token."""
    keep = torch.zeros(response_mask.shape, dtype=torch.bool, device=response_mask.device)
    keep[:, :-1] = response_mask[:, 1:].bool()
    return keep


def next_tokens(input_ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(N,) the token each ``keep`` position predicts (row-major, like :func:`logits_at`)."""
    return input_ids[:, 1:][keep[:, :-1]]


def keeps_masked_logits(model: Any) -> bool:
    """Whether ``model`` takes a boolean ``logits_to_keep`` (a PEFT wrapper is looked through)."""
    from transformers import modeling_utils

    if not hasattr(modeling_utils, "slice_logits_to_keep"):  # int / 1-D logits_to_keep only
        return False
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(base.forward).parameters
    except (TypeError, ValueError):
        return False


def logits_at(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(N, V) logits at the ``keep`` positions (N = ``keep.sum()``), in row-major order."""
    if keeps_masked_logits(model):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, logits_to_keep=keep).logits
        if logits.dim() == 2:
            return logits
    else:
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    return logits[keep]


def length_groups(lengths: list[int], overhead: int = 32) -> list[list[int]]:
    """Rows grouped by length so that sum(rows x longest) + overhead x groups is smallest: each
    group runs as its own forward trimmed to its longest row, so short rows (a label word) are
    not padded to the longest (an explanation). ``overhead`` is a group's fixed cost in tokens."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    n = len(order)
    best, cut = [0] * (n + 1), [0] * (n + 1)  # best[j]: cost of the j shortest rows (set before it is read)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        best[j], cut[j] = min((best[i] + (j - i) * longest + overhead, i) for i in range(j))
    groups, j = [], n
    while j:
        groups.append(sorted(order[cut[j] : j]))
        j = cut[j]
    return groups[::-1]


def response_token_ce(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, response_mask: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy of each sequence's response tokens, shape (B,) (0 for a sequence without
    any). A right-padded batch runs as groups of similar length (:func:`length_groups`), each
    trimmed to its longest row: the same values as one padded forward, without computing the pads."""
    lengths = attention_mask.sum(1)
    right_padded = bool(
        (attention_mask == (torch.arange(attention_mask.shape[1], device=lengths.device) < lengths[:, None])).all()
    )
    # a forward's fixed cost, in tokens: small on a CPU (compute-bound), large on an accelerator
    overhead = 32 if input_ids.device.type == "cpu" else 1024
    groups = length_groups(lengths.tolist(), overhead) if right_padded else [list(range(input_ids.shape[0]))]
    out = torch.zeros(input_ids.shape[0], device=input_ids.device)
    for rows in groups:
        index = torch.tensor(rows, device=input_ids.device)
        width = int(lengths[index].max()) if right_padded else input_ids.shape[1]
        ids, attn, keep = (
            input_ids[index, :width],
            attention_mask[index, :width],
            target_positions(response_mask[index, :width]),
        )
        ce = torch.nn.functional.cross_entropy(
            logits_at(model, ids, attn, keep).float(), next_tokens(ids, keep), reduction="none"
        )
        per_row = ce.new_zeros(len(rows)).index_add(0, keep.nonzero()[:, 0], ce) / keep.sum(1).clamp_min(1)
        out = out.index_put((index,), per_row)
    return out
