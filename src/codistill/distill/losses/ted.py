"""TED (Liang et al., ICML 2023): task-aware layer-wise distillation with learned filters.

Stage 1 trains, for each mapped layer, a linear filter plus its own classification head on
the frozen teacher's hidden states (task loss on the training labels), then the same for the
student's filters on the frozen initial student (its filters output the teacher filters' width).
Stage 2 (the training run) matches student filter outputs to the frozen teacher filter outputs
(masked MSE), with the student filters trained alongside the student. Both stages read teacher
hidden states from the signal cache; the teacher filters are linear maps applied on the fly, so
no teacher forward happens during training. Works for any HF model that returns hidden states.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from codistill.distill.losses.base import LossInputs, LossTerm, ModelShapes, default_layer_map, register_loss
from codistill.distill.losses.functional import masked_mean, masked_mse
from codistill.distill.losses.hidden import Pooling, check_layer_map, pooled_pair, resolve_pooling
from codistill.errors import ConfigError


class Filter(nn.Module):
    """A per-layer filter (linear map) with its own head on the masked mean of its outputs."""

    def __init__(self, in_dim: int, out_dim: int, num_labels: int) -> None:
        super().__init__()
        self.filter = nn.Linear(in_dim, out_dim)
        self.head = nn.Linear(out_dim, num_labels)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.filter(h)

    def classify(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(masked_mean(self.filter(h), mask))


def _train_filters(
    filters: list[Filter], states: list[torch.Tensor], mask: torch.Tensor, labels: torch.Tensor, steps: int, lr: float
) -> list[float]:
    params = [p for f in filters for p in f.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    losses: list[float] = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = torch.stack([F.cross_entropy(f.classify(h, mask), labels) for f, h in zip(filters, states)]).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@register_loss("ted")
class TaskAwareFilters(LossTerm):
    needs_student_hidden = True

    def __init__(
        self,
        layer_map: dict[int, int] | None = None,
        filter_dim: int | None = None,
        filter_steps: int = 200,
        filter_lr: float = 1e-3,
        pooling: Pooling = "auto",
    ) -> None:
        super().__init__()
        if filter_steps < 1 or filter_lr <= 0:
            raise ValueError("filter_steps must be >= 1 and filter_lr > 0")
        self.requested_map = {int(k): int(v) for k, v in layer_map.items()} if layer_map else None
        self.filter_dim, self.filter_steps, self.filter_lr, self.pooling = filter_dim, filter_steps, filter_lr, pooling
        self.layer_map: dict[int, int] = dict(self.requested_map or {})
        self.teacher_filters = nn.ModuleDict()
        self.student_filters = nn.ModuleDict()
        self.fitted = False

    def teacher_layers(self) -> list[int]:
        return sorted(set(self.layer_map.values()))

    def build(self, shapes: ModelShapes) -> None:
        self.layer_map = check_layer_map(
            self.requested_map or default_layer_map(shapes.student_layers, shapes.teacher_layers), shapes
        )
        self.pooling = resolve_pooling(self.pooling, shapes)
        if self.pooling == "tokens" and not shapes.same_tokenizer:
            raise ConfigError("ted: pooling=tokens needs the same tokenizer for teacher and student; use pooling: mean")
        dim = self.filter_dim or shapes.teacher_hidden
        self.teacher_filters = nn.ModuleDict(
            {str(s): Filter(shapes.teacher_hidden, dim, shapes.num_labels) for s in self.layer_map}
        )
        self.student_filters = nn.ModuleDict(
            {str(s): Filter(shapes.student_hidden, dim, shapes.num_labels) for s in self.layer_map}
        )

    def fit(
        self, batch: dict[str, torch.Tensor], teacher_hidden: dict[int, torch.Tensor], student: nn.Module, seed: int
    ) -> dict[str, Any]:
        """Stage 1 on the whole (small) training set: teacher filters, then student filters."""
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        labels = batch["labels"]
        keys = list(self.layer_map)
        tmask = batch["teacher_mask"]
        t_states = [teacher_hidden[self.layer_map[s]].float() for s in keys]
        teacher_losses = _train_filters(
            [cast(Filter, self.teacher_filters[str(s)]) for s in keys],
            t_states,
            tmask,
            labels,
            self.filter_steps,
            self.filter_lr,
        )
        for p in self.teacher_filters.parameters():
            p.requires_grad_(False)
        was_training = student.training
        student.eval()
        with torch.no_grad():
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
            hidden = student(**inputs, output_hidden_states=True).hidden_states
        student.train(was_training)
        s_states = [hidden[s].float() for s in keys]
        student_losses = _train_filters(
            [cast(Filter, self.student_filters[str(s)]) for s in keys],
            s_states,
            batch["attention_mask"],
            labels,
            self.filter_steps,
            self.filter_lr,
        )
        # the student filters' heads are not used in stage 2
        for f in self.student_filters.values():
            f.head.requires_grad_(False)
        torch.random.set_rng_state(generator_state)
        self.fitted = True
        return {"teacher_filter_loss": teacher_losses[-1], "student_filter_loss": student_losses[-1]}

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        if not self.fitted:
            raise RuntimeError("ted: stage 1 (fit) has not run")
        assert inputs.student_hidden is not None  # the loop asks the student for hidden states
        losses = []
        for s, t in self.layer_map.items():
            with torch.no_grad():
                ft = self.teacher_filters[str(s)](inputs.teacher_hidden[t].float())
            fs = self.student_filters[str(s)](inputs.student_hidden[s].float())
            a, b, mask = pooled_pair(fs, ft, inputs, self.pooling)
            losses.append(masked_mse(a, b, mask))
        return torch.stack(losses).mean()
