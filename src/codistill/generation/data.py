"""Instruction data: prompts and responses tokenised with a mask on the response tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from codistill.errors import DataError


@dataclass(frozen=True)
class Instruction:
    prompt: str
    response: str


def read_instructions(
    path: str | Path, prompt_field: str = "prompt", response_field: str = "response", limit: int | None = None
) -> list[Instruction]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"instruction file not found: {path}")
    from codistill.data.readers import read_rows

    out = []
    for where, row in read_rows(path):  # UTF-8 and JSON errors name file:line
        if prompt_field not in row or response_field not in row:
            raise DataError(f"{where}: needs fields {prompt_field!r} and {response_field!r}")
        out.append(Instruction(str(row[prompt_field]), str(row[response_field])))
        if limit and len(out) >= limit:
            break
    if not out:
        raise DataError(f"{path}: no instructions")
    return out


def format_prompt(tokenizer: Any, prompt: str, chat: bool) -> str:
    if chat and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return prompt


def encode(tokenizer: Any, example: Instruction, chat: bool, max_length: int) -> dict[str, list[int]]:
    """``input_ids`` = prompt + response + eos; ``response_mask`` marks the response tokens (the
    ones the loss is computed on). The prompt is cut from the left if the pair is too long."""
    prompt_ids = tokenizer(format_prompt(tokenizer, example.prompt, chat), add_special_tokens=not chat)["input_ids"]
    response_ids = tokenizer(" " + example.response if not chat else example.response, add_special_tokens=False)[
        "input_ids"
    ]
    if tokenizer.eos_token_id is not None:
        response_ids = response_ids + [tokenizer.eos_token_id]
    response_ids = response_ids[: max(1, max_length // 2)]
    prompt_ids = prompt_ids[-(max_length - len(response_ids)) :]
    return {
        "input_ids": prompt_ids + response_ids,
        "response_mask": [0] * len(prompt_ids) + [1] * len(response_ids),
        "prompt_length": len(prompt_ids),
    }


class InstructionCollator:
    """Right-pads input_ids / attention_mask / response_mask; keeps prompt lengths for on-policy."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(f["input_ids"]) for f in features)

        def pad(seq: list[int], fill: int) -> list[int]:
            return list(seq) + [fill] * (length - len(seq))

        return {
            "input_ids": torch.tensor([pad(f["input_ids"], self.pad_id) for f in features]),
            "attention_mask": torch.tensor([pad([1] * len(f["input_ids"]), 0) for f in features]),
            "response_mask": torch.tensor([pad(f["response_mask"], 0) for f in features]),
            "prompt_length": torch.tensor([f["prompt_length"] for f in features]),
        }
