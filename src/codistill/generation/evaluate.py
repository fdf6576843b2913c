"""Answers by greedy decoding; exact-match accuracy (vs references) and agreement (vs teacher)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from codistill.generation.data import format_prompt


def normalise_answer(text: str) -> str:
    """First line, lower-cased, punctuation and extra spaces removed (SQuAD-style exact match)."""
    first = text.strip().split("\n", 1)[0].lower()
    return " ".join(re.sub(r"[^\w\s]", " ", first).split())


@torch.no_grad()
def generate_answers(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    chat: bool,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    desc: str = "generate",
) -> list[str]:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # continuations start at the same column
    answers: list[str] = []
    try:
        for start in tqdm(
            range(0, len(prompts), batch_size), desc=desc, leave=False, disable=len(prompts) <= batch_size
        ):
            batch = [format_prompt(tokenizer, p, chat) for p in prompts[start : start + batch_size]]
            enc = tokenizer(
                batch,
                padding=True,
                return_tensors="pt",
                add_special_tokens=not (chat and getattr(tokenizer, "chat_template", None)),
            ).to(device)
            out = model.generate(
                **enc,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            answers += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return answers


def answer_metrics(student: Sequence[str], teacher: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """accuracy / teacher_accuracy: exact match with the reference; agreement: the student's
    answer equals the teacher's (fidelity)."""
    s = [normalise_answer(a) for a in student]
    t = [normalise_answer(a) for a in teacher]
    r = [normalise_answer(a) for a in references]
    n = max(1, len(r))
    return {
        "accuracy": sum(a == b for a, b in zip(s, r)) / n,
        "teacher_accuracy": sum(a == b for a, b in zip(t, r)) / n,
        "agreement": sum(a == b for a, b in zip(s, t)) / n,
        "n": len(r),
    }
