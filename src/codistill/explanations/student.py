"""Training data and loss of explanation students.

Every example becomes up to three prompt -> response sequences, each behind its own prefix
(:class:`PromptsConfig`): the task (-> the label word), the rationale and the counterfactual. The
loss of a batch is ``alpha * mean task CE + (1 - alpha) * mean explanation CE`` over the response
tokens of each sequence (an example without explanations contributes to the task term only); the
LM head is applied at the response positions only (:mod:`codistill.generation.logits`).
Tokenisation, masking and padding are the causal-LM instruction pipeline of
:mod:`codistill.generation.data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import Trainer

from codistill.explanations.config import PromptsConfig
from codistill.explanations.record import ExplanationRecord
from codistill.generation.data import Instruction, InstructionCollator, encode
from codistill.generation.logits import response_token_ce

TASK, EXPLANATION = 0, 1


def fill(template: str, text: str) -> str:
    return template.replace("{text}", text)


def sequences_for(
    record: ExplanationRecord, mode: str, prompts: PromptsConfig, label_words: Sequence[str], label: int
) -> list[tuple[int, Instruction]]:
    """(kind, prompt/response) pairs of one example for ``mode``; ``label`` is the task target."""
    out = [(TASK, Instruction(fill(prompts.task, record.text), label_words[label]))]
    if mode in ("rationale", "both") and record.rationale:
        out.append((EXPLANATION, Instruction(fill(prompts.rationale, record.text), record.rationale)))
    if mode in ("counterfactual", "both") and record.counterfactual:
        out.append((EXPLANATION, Instruction(fill(prompts.counterfactual, record.text), record.counterfactual)))
    return out


def build_features(
    tokenizer: Any,
    records: Sequence[ExplanationRecord],
    mode: str,
    prompts: PromptsConfig,
    label_words: Sequence[str],
    labels: Sequence[int],
    max_length: int,
    seq2seq: bool = False,
) -> list[dict[str, Any]]:
    """One training item per example: its encoded sequences with their kinds."""
    from codistill.explanations.seq2seq import encode_seq2seq

    items = []
    for r, y in zip(records, labels):
        seqs = []
        for kind, ins in sequences_for(r, mode, prompts, label_words, y):
            enc = (
                encode_seq2seq(tokenizer, ins, max_length)
                if seq2seq
                else encode(tokenizer, ins, prompts.chat, max_length)
            )
            seqs.append({**enc, "kind": kind})
        items.append({"sequences": seqs})
    return items


class ExplanationCollator:
    """Flattens the examples' sequences into one right-padded batch with a ``kind`` per row."""

    def __init__(self, pad_id: int) -> None:
        self.pad = InstructionCollator(pad_id)

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        flat = [s for item in items for s in item["sequences"]]
        batch = self.pad(flat)
        batch["kind"] = torch.tensor([s["kind"] for s in flat])
        return batch


def sequence_ce(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of each sequence's response tokens, shape (B,); the LM head runs on the
    response positions only (the prompts carry no target)."""
    return response_token_ce(model, inputs["input_ids"], inputs["attention_mask"], inputs["response_mask"])


def mixed_loss(per_sequence: torch.Tensor, kind: torch.Tensor, alpha: float) -> torch.Tensor:
    task, expl = per_sequence[kind == TASK], per_sequence[kind == EXPLANATION]
    loss = alpha * task.mean() if task.numel() else per_sequence.new_zeros(())
    if expl.numel():
        loss = loss + (1 - alpha) * expl.mean()
    return loss


class ExplanationTrainer(Trainer):
    """``transformers.Trainer`` with the alpha-weighted task + explanation loss."""

    def __init__(self, *args: Any, alpha: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.model_accepts_loss_kwargs = False

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if "labels" in inputs:  # encoder-decoder
            from codistill.explanations.seq2seq import seq2seq_ce

            return mixed_loss(seq2seq_ce(model, inputs), inputs["kind"], self.alpha)
        return mixed_loss(sequence_ce(model, inputs), inputs["kind"], self.alpha)
