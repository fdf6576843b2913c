"""Layer-wise hidden-state matching (the paper's LWD baseline)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from codistill.distill.losses.base import LossInputs, LossTerm, ModelShapes, default_layer_map, register_loss
from codistill.distill.losses.functional import masked_mean, masked_mse
from codistill.errors import ConfigError

Pooling = Literal["tokens", "mean", "cls"]


def check_layer_map(layer_map: dict[int, int], shapes: ModelShapes) -> dict[int, int]:
    for s, t in layer_map.items():
        if not 0 <= s <= shapes.student_layers or not 0 <= t <= shapes.teacher_layers:
            raise ConfigError(
                f"layer_map {s}->{t} is outside the student's 0..{shapes.student_layers} or the "
                f"teacher's 0..{shapes.teacher_layers} hidden states (0 = embeddings)"
            )
    return dict(sorted(layer_map.items()))


def pooled_pair(
    student_h: torch.Tensor, teacher_h: torch.Tensor, inputs: LossInputs, pooling: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Both sides reduced to comparable (B, T, H) tensors plus the mask to average over."""
    if pooling == "tokens":
        return student_h, teacher_h, inputs.attention_mask
    if pooling == "mean":
        tmask = inputs.teacher_mask if inputs.teacher_mask is not None else inputs.attention_mask
        return masked_mean(student_h, inputs.attention_mask)[:, None], masked_mean(teacher_h, tmask)[:, None], None
    return student_h[:, :1], teacher_h[:, :1], None  # cls: the first position


@register_loss("hidden")
class HiddenMSE(LossTerm):
    """Mean over mapped layers of the MSE between (projected) student and teacher hidden states.

    ``layer_map`` sends student hidden-state indices to teacher ones (0 = embeddings; default:
    uniform, last to last). When widths differ, a trainable linear projection per mapped layer
    lifts the student's states to the teacher's width; it is trained with the student.
    ``pooling="tokens"`` compares position by position with padding masked out and needs the
    same tokenizer on both sides; ``mean`` (masked) or ``cls`` work across tokenizers.
    """

    needs_student_hidden = True

    def __init__(self, layer_map: dict[int, int] | None = None, pooling: Pooling = "tokens", project: bool | None = None) -> None:
        super().__init__()
        if pooling not in ("tokens", "mean", "cls"):
            raise ValueError(f"pooling must be tokens, mean or cls, got {pooling!r}")
        self.requested_map = {int(k): int(v) for k, v in layer_map.items()} if layer_map else None
        self.pooling = pooling
        self.project = project
        self.layer_map: dict[int, int] = dict(self.requested_map or {})
        self.projections = nn.ModuleDict()

    def teacher_layers(self) -> list[int]:
        return sorted(set(self.layer_map.values()))

    def build(self, shapes: ModelShapes) -> None:
        self.layer_map = check_layer_map(self.requested_map or default_layer_map(shapes.student_layers, shapes.teacher_layers), shapes)
        if self.pooling == "tokens" and not shapes.same_tokenizer:
            raise ConfigError("hidden: pooling=tokens needs the same tokenizer for teacher and student; use pooling: mean")
        project = shapes.student_hidden != shapes.teacher_hidden if self.project is None else self.project
        if not project and shapes.student_hidden != shapes.teacher_hidden:
            raise ConfigError(f"hidden: widths differ ({shapes.student_hidden} vs {shapes.teacher_hidden}); projections are required")
        if project:
            self.projections = nn.ModuleDict({str(s): nn.Linear(shapes.student_hidden, shapes.teacher_hidden) for s in self.layer_map})

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        losses = []
        for s, t in self.layer_map.items():
            hs = inputs.student_hidden[s].float()  # terms run in fp32, also under autocast
            if str(s) in self.projections:
                hs = self.projections[str(s)](hs)
            a, b, mask = pooled_pair(hs, inputs.teacher_hidden[t].float(), inputs, self.pooling)
            losses.append(masked_mse(a, b, mask))
        return torch.stack(losses).mean()
