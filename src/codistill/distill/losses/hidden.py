"""Layer-wise hidden-state matching (the paper's LWD baseline)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from codistill.distill.losses.base import LossInputs, LossTerm, ModelShapes, default_layer_map, register_loss
from codistill.distill.losses.functional import masked_mean, masked_mse
from codistill.errors import ConfigError

Pooling = Literal["auto", "tokens", "mean", "cls", "last"]
POOLINGS = ("tokens", "mean", "cls", "last")


def resolve_pooling(pooling: Pooling, shapes: ModelShapes) -> Pooling:
    """``auto``: position by position when teacher and student tokenise alike, else masked means
    (a cross-tokenizer pair, e.g. an MPNet teacher and a MiniLM student, needs no setting)."""
    if pooling == "auto":
        return "tokens" if shapes.same_tokenizer else "mean"
    return pooling


def check_layer_map(layer_map: dict[int, int], shapes: ModelShapes) -> dict[int, int]:
    """Validate a student -> teacher hidden-state map between models of any depth.

    Impossible maps are errors: an index outside either model (0 = embeddings), or a crossing
    map (a deeper student layer matched to a shallower teacher layer than the one before it:
    no order-preserving alignment of the two stacks does that).
    """
    if not layer_map:
        raise ConfigError("layer_map is empty: map at least one student layer to a teacher layer")
    for s, t in layer_map.items():
        if not 0 <= s <= shapes.student_layers or not 0 <= t <= shapes.teacher_layers:
            raise ConfigError(
                f"layer_map {s}->{t} is outside the student's 0..{shapes.student_layers} or the "
                f"teacher's 0..{shapes.teacher_layers} hidden states (0 = embeddings)"
            )
    ordered = dict(sorted(layer_map.items()))
    targets = list(ordered.values())
    if any(b < a for a, b in zip(targets, targets[1:])):
        raise ConfigError(f"layer_map {ordered} crosses: teacher layers must not decrease as student layers increase")
    return ordered


def last_token(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, H) -> (B, 1, H): the last real position (left or right padding), where a decoder
    LM summarises the sequence (what its classification head or next-token head reads)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    index = (positions * mask.long()).argmax(1)
    return h[torch.arange(h.shape[0], device=h.device), index][:, None]


def _pool(h: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "mean":
        return masked_mean(h, mask)[:, None]
    if pooling == "last":
        return last_token(h, mask)
    return h[:, :1]  # cls: the first position


def pooled_pair(
    student_h: torch.Tensor,
    teacher_h: torch.Tensor,
    inputs: LossInputs,
    pooling: str,
    teacher_pooling: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Both sides reduced to comparable (B, T, H) tensors plus the mask to average over.
    ``teacher_pooling`` (default: ``pooling``) lets an encoder student's [CLS] meet a decoder
    teacher's last token."""
    teacher_pooling = teacher_pooling or pooling
    if pooling == "tokens":
        return student_h, teacher_h, inputs.attention_mask
    tmask = inputs.teacher_mask if inputs.teacher_mask is not None else inputs.attention_mask
    return _pool(student_h, inputs.attention_mask, pooling), _pool(teacher_h, tmask, teacher_pooling), None


@register_loss("hidden")
class HiddenMSE(LossTerm):
    """Mean over mapped layers of the MSE between (projected) student and teacher hidden states.

    ``layer_map`` sends student hidden-state indices to teacher ones (0 = embeddings; default:
    uniform, last to last). When widths differ, a trainable linear projection per mapped layer
    lifts the student's states to the teacher's width; it is trained with the student.
    ``pooling="tokens"`` compares position by position with padding masked out and needs the
    same tokenizer on both sides; ``auto`` (the default) is ``tokens`` when both sides tokenise
    the training texts identically and ``mean`` otherwise; ``mean`` (masked), ``cls`` or ``last`` (last real token, the
    decoder summary) work across tokenizers and families; ``teacher_pooling`` may differ
    (e.g. a BERT student's ``cls`` against a Qwen teacher's ``last``).

    Across families (e.g. 24 layers of width 896 -> 28 layers of width 1536) the default map is
    uniform by depth and every mapped layer gets its own trainable projection.
    """

    needs_student_hidden = True

    def __init__(
        self,
        layer_map: dict[int, int] | None = None,
        pooling: Pooling = "auto",
        project: bool | None = None,
        teacher_pooling: Pooling | None = None,
    ) -> None:
        super().__init__()
        if pooling not in ("auto", *POOLINGS) or (teacher_pooling is not None and teacher_pooling not in POOLINGS[1:]):
            raise ValueError(
                f"pooling must be one of {', '.join(POOLINGS)} (teacher_pooling: not tokens), got {pooling!r}/{teacher_pooling!r}"
            )
        if teacher_pooling is not None and pooling in ("tokens", "auto"):
            raise ValueError("teacher_pooling needs a pooled student side (pooling: mean, cls or last)")
        self.teacher_pooling = teacher_pooling
        self.requested_map = {int(k): int(v) for k, v in layer_map.items()} if layer_map else None
        self.pooling = pooling
        self.project = project
        self.layer_map: dict[int, int] = dict(self.requested_map or {})
        self.projections = nn.ModuleDict()

    def teacher_layers(self) -> list[int]:
        return sorted(set(self.layer_map.values()))

    def build(self, shapes: ModelShapes) -> None:
        self.layer_map = check_layer_map(
            self.requested_map or default_layer_map(shapes.student_layers, shapes.teacher_layers), shapes
        )
        self.pooling = resolve_pooling(self.pooling, shapes)
        if self.pooling == "tokens" and not shapes.same_tokenizer:
            raise ConfigError(
                "hidden: pooling=tokens needs the same tokenizer for teacher and student; use pooling: mean"
            )
        project = shapes.student_hidden != shapes.teacher_hidden if self.project is None else self.project
        if not project and shapes.student_hidden != shapes.teacher_hidden:
            raise ConfigError(
                f"hidden: widths differ ({shapes.student_hidden} vs {shapes.teacher_hidden}); projections are required"
            )
        if project:
            self.projections = nn.ModuleDict(
                {str(s): nn.Linear(shapes.student_hidden, shapes.teacher_hidden) for s in self.layer_map}
            )

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        assert inputs.student_hidden is not None  # the loop asks the student for hidden states
        losses = []
        for s, t in self.layer_map.items():
            hs = inputs.student_hidden[s].float()  # terms run in fp32, also under autocast
            if str(s) in self.projections:
                hs = self.projections[str(s)](hs)
            a, b, mask = pooled_pair(hs, inputs.teacher_hidden[t].float(), inputs, self.pooling, self.teacher_pooling)
            losses.append(masked_mse(a, b, mask))
        return torch.stack(losses).mean()
