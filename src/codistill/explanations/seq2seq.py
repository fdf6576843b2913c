"""Encoder-decoder students (T5 and friends): the same prefixes and targets as causal LMs, with
the prompt in the encoder and the response as the decoder's labels.

``load_student`` picks ``AutoModelForSeq2SeqLM`` when the config says ``is_encoder_decoder``;
:class:`Seq2SeqVerbalizer` scores the label words as the decoder's first token (the task prefix
only); :func:`generate_seq2seq` decodes explanations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from codistill.generation.data import Instruction


def is_seq2seq(name: str) -> bool:
    from transformers import AutoConfig

    from codistill.models.loading import resolve_model

    ref = resolve_model(name)
    return bool(getattr(AutoConfig.from_pretrained(ref.path, **ref.pretrained_kwargs()), "is_encoder_decoder", False))


def load_student(name: str) -> Any:
    """The student's weights as a causal LM or, for encoder-decoders, a seq2seq LM (float32)."""
    if not is_seq2seq(name):
        from codistill.models.verbalizer import load_causal_lm

        return load_causal_lm(name, dtype=torch.float32)
    from transformers import AutoModelForSeq2SeqLM

    from codistill.models.loading import resolve_model

    ref = resolve_model(name)
    return AutoModelForSeq2SeqLM.from_pretrained(ref.path, dtype=torch.float32, **ref.pretrained_kwargs())


def encode_seq2seq(tokenizer: Any, example: Instruction, max_length: int) -> dict[str, list[int]]:
    """Encoder ``input_ids`` = the prompt (cut from the left); ``labels`` = response + eos."""
    prompt = tokenizer(example.prompt, add_special_tokens=True)["input_ids"][-max_length:]
    labels = tokenizer(example.response, add_special_tokens=False)["input_ids"][: max(1, max_length // 2)]
    if tokenizer.eos_token_id is not None:
        labels = labels + [tokenizer.eos_token_id]
    return {"input_ids": prompt, "labels": labels}


class Seq2SeqCollator:
    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        flat = [s for item in items for s in item["sequences"]]
        n, m = max(len(s["input_ids"]) for s in flat), max(len(s["labels"]) for s in flat)
        return {
            "input_ids": torch.tensor([s["input_ids"] + [self.pad_id] * (n - len(s["input_ids"])) for s in flat]),
            "attention_mask": torch.tensor([[1] * len(s["input_ids"]) + [0] * (n - len(s["input_ids"])) for s in flat]),
            "labels": torch.tensor([s["labels"] + [-100] * (m - len(s["labels"])) for s in flat]),
            "kind": torch.tensor([s["kind"] for s in flat]),
        }


def seq2seq_ce(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of each sequence's label tokens, shape (B,)."""
    labels = inputs["labels"]
    logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=labels).logits
    mask = (labels != -100).float()
    ce = nn.functional.cross_entropy(logits.float().transpose(1, 2), labels.clamp_min(0), reduction="none")
    return (ce * mask).sum(1) / mask.sum(1).clamp_min(1.0)


class Seq2SeqVerbalizer(nn.Module):
    """Class scores: log p(label word's first token) as the decoder's first output."""

    def __init__(self, model: nn.Module, label_token_ids: list[list[int]]) -> None:
        super().__init__()
        self.model: Any = model  # a transformers encoder-decoder
        config: Any = self.model.config
        config.num_labels = len(label_token_ids)
        self.config = config
        self.label_token_ids = label_token_ids

    def forward(self, input_ids=None, attention_mask=None, **_: Any):
        start = torch.full(
            (input_ids.shape[0], 1), self.config.decoder_start_token_id, dtype=torch.long, device=input_ids.device
        )
        logprobs = torch.log_softmax(
            self.model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=start)
            .logits[:, 0]
            .float(),
            -1,
        )
        logits = torch.stack([torch.logsumexp(logprobs[:, ids], -1) for ids in self.label_token_ids], -1)
        return type("Output", (), {"logits": logits})()


def label_first_tokens(tokenizer: Any, words: Sequence[str]) -> list[list[int]]:
    return [[tokenizer(w, add_special_tokens=False)["input_ids"][0]] for w in words]


@torch.no_grad()
def generate_seq2seq(
    model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 16
) -> list[str]:
    was_training = model.training
    model.eval()
    out: list[str] = []
    for start in range(0, len(prompts), batch_size):
        enc = tokenizer(list(prompts[start : start + batch_size]), padding=True, return_tensors="pt")
        ids = model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens)
        out += tokenizer.batch_decode(ids, skip_special_tokens=True)
    model.train(was_training)
    return out
