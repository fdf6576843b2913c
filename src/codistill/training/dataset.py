"""Tokenise once, pad per batch: the cheapest input pipeline for short texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


class EncodedDataset(torch.utils.data.Dataset):
    """Texts tokenised up front (no padding) with optional labels and extra per-example fields."""

    def __init__(
        self,
        texts: Sequence[str],
        tokenizer: Any,
        max_length: int,
        labels: Sequence[int] | None = None,
        extra: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
        self.features = [{k: enc[k][i] for k in enc.keys()} for i in range(len(texts))]
        if labels is not None:
            if len(labels) != len(texts):
                raise ValueError("texts and labels differ in length")
            for feature, label in zip(self.features, labels):
                feature["labels"] = int(label)
        for name, values in (extra or {}).items():
            for feature, value in zip(self.features, values):
                feature[name] = value

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.features[index]


class PadCollator:
    """Pads token fields to the batch's longest sequence and stacks everything else."""

    def __init__(self, tokenizer: Any, pad_to_multiple_of: int | None = None) -> None:
        self.pad_id = tokenizer.pad_token_id
        self.padding_side = getattr(tokenizer, "padding_side", "right")
        self.multiple = pad_to_multiple_of

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(f["input_ids"]) for f in features)
        if self.multiple:
            length = -(-length // self.multiple) * self.multiple
        batch: dict[str, torch.Tensor] = {}
        for key in features[0]:
            values = [f[key] for f in features]
            if key in ("input_ids", "attention_mask", "token_type_ids"):
                fill = self.pad_id if key == "input_ids" else 0
                batch[key] = torch.tensor([self._pad(v, length, fill) for v in values], dtype=torch.long)
            elif isinstance(values[0], torch.Tensor):
                batch[key] = torch.stack(values)
            else:
                batch[key] = torch.tensor(values)
        return batch

    def _pad(self, seq: list[int], length: int, fill: int) -> list[int]:
        pad = [fill] * (length - len(seq))
        return pad + list(seq) if self.padding_side == "left" else list(seq) + pad
