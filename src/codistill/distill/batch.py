"""The teacher signals of a run, as one type shared by the run, the collator and the trainer.

:class:`TrainSignals` holds, per training text, what the run attaches (the teacher's logits, its
hidden states of the layers the loss terms map, the text's pair group and whether it is a
counterfactual); it turns into dataset features under the field names of :class:`SignalBatch`.
The collator pads them into a :class:`SignalBatch`'s tensors, and the trainer pops exactly those
fields off a batch before the student sees it and hands them to the loss terms as
:class:`~codistill.distill.losses.LossInputs`. No other module spells these field names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import torch


@dataclass
class SignalBatch:
    """One batch's teacher signals and pair metadata (every field optional)."""

    teacher_logits: torch.Tensor | None = None  # (B, C)
    teacher_hidden: torch.Tensor | None = None  # (B, L, T_t, H_t), padded by the collator
    teacher_mask: torch.Tensor | None = None  # (B, T_t)
    pair_id: torch.Tensor | None = None  # (B,) group of an original and its counterfactuals
    is_counterfactual: torch.Tensor | None = None  # (B,)

    HIDDEN: ClassVar[str] = "teacher_hidden"
    MASK: ClassVar[str] = "teacher_mask"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def pop(cls, inputs: dict[str, Any]) -> SignalBatch:
        """Remove the signal fields from a collated batch (what is left goes to the student)."""
        return cls(**{name: inputs.pop(name) for name in cls.names() if name in inputs})

    def hidden_by_layer(self, layers: list[int]) -> dict[int, torch.Tensor]:
        """Teacher layer index -> (B, T_t, H_t), in the order the run cached them."""
        if self.teacher_hidden is None:
            return {}
        return {layer: self.teacher_hidden[:, i] for i, layer in enumerate(layers)}


@dataclass
class TrainSignals:
    """Per training text: the teacher's logits (N, C), hidden states (L, T_i, H) of ``layers``, the
    pair group and the counterfactual flag."""

    logits: np.ndarray
    pair_id: list[int]
    is_counterfactual: list[bool]
    layers: list[int]
    hidden: list[np.ndarray] | None = None

    def features(self) -> dict[str, list[Any]]:
        """Per-example dataset columns, named as :class:`SignalBatch` fields."""
        out: dict[str, list[Any]] = {
            "teacher_logits": [torch.from_numpy(row.copy()) for row in self.logits],
            "pair_id": list(self.pair_id),
            "is_counterfactual": [int(c) for c in self.is_counterfactual],
        }
        if self.hidden is not None:
            out[SignalBatch.HIDDEN] = [torch.from_numpy(h.astype(np.float32)) for h in self.hidden]
        return out
