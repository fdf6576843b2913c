"""Loss terms: registered ``nn.Module`` classes combined as a weighted list (DistillKit style).

A term declares what it needs (teacher logits, which teacher hidden layers, student hidden
states); the trainer supplies exactly that and logs every term separately. Terms may hold
trainable parameters (projections, filters): the trainer gives them to the optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from codistill.errors import ConfigError

LOSSES: dict[str, type[LossTerm]] = {}


def register_loss(name: str):
    def wrap(cls: type[LossTerm]) -> type[LossTerm]:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} is already registered")
        cls.name = name
        LOSSES[name] = cls
        return cls

    return wrap


@dataclass
class LossInputs:
    """What one training batch offers to the loss terms."""

    student_logits: torch.Tensor  # (B, C)
    labels: torch.Tensor  # (B,) the example's label; for a counterfactual the teacher's label
    attention_mask: torch.Tensor  # (B, T) student tokens
    teacher_logits: torch.Tensor | None = None  # (B, C)
    student_hidden: tuple[torch.Tensor, ...] | None = None  # hidden_states: embeddings, layer 1..n
    teacher_hidden: dict[int, torch.Tensor] = field(default_factory=dict)  # teacher layer -> (B, T_t, H_t)
    teacher_mask: torch.Tensor | None = None  # (B, T_t)


@dataclass
class ModelShapes:
    """Sizes the terms need to build their parameters."""

    student_layers: int
    student_hidden: int
    teacher_layers: int
    teacher_hidden: int
    num_labels: int
    same_tokenizer: bool = True


def default_layer_map(student_layers: int, teacher_layers: int) -> dict[int, int]:
    """Student hidden-state index j (1..n) -> teacher index round(j * m / n): the last student
    layer always meets the last teacher layer (2 of 6 -> {1: 3, 2: 6})."""
    return {j: round(j * teacher_layers / student_layers) for j in range(1, student_layers + 1)}


class LossTerm(nn.Module):
    """Base class. Subclasses set the ``needs_*`` flags and implement :meth:`forward`."""

    name: ClassVar[str] = ""
    needs_teacher_logits: ClassVar[bool] = False
    needs_student_hidden: ClassVar[bool] = False

    def teacher_layers(self) -> list[int]:
        """Teacher hidden-state indices (0 = embeddings) this term reads from the signal cache."""
        return []

    def build(self, shapes: ModelShapes) -> None:
        """Create parameters that depend on model sizes (called once, before training)."""

    def fit(
        self, batch: dict[str, torch.Tensor], teacher_hidden: dict[int, torch.Tensor], student: nn.Module, seed: int
    ) -> dict[str, Any]:
        """Optional stage before training, on the whole training set as one padded ``batch``
        (TED stage 1); returns values to log."""
        return {}

    def forward(self, inputs: LossInputs) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def make_loss(name: str, **params: Any) -> LossTerm:
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; known: {', '.join(sorted(LOSSES))}")
    try:
        return LOSSES[name](**params)
    except TypeError as exc:
        raise ConfigError(f"loss {name!r}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"loss {name!r}: {exc}") from None
