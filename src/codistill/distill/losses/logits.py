"""Output-level terms: cross-entropy and the KL family on temperature-scaled logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from codistill.distill.losses.base import LossInputs, LossTerm, register_loss
from codistill.distill.losses.functional import generalized_jsd, kl


@register_loss("ce")
class CrossEntropy(LossTerm):
    """Cross-entropy on the example's label (a counterfactual's label is the teacher's)."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0 <= label_smoothing < 1:
            raise ValueError("label_smoothing must be in [0, 1)")
        self.label_smoothing = label_smoothing

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return F.cross_entropy(inputs.student_logits.float(), inputs.labels, label_smoothing=self.label_smoothing)


class _TemperatureTerm(LossTerm):
    needs_teacher_logits = True

    def __init__(self, temperature: float = 2.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        self.temperature = float(temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


@register_loss("kd")
class ForwardKL(_TemperatureTerm):
    """Hinton KD: T^2 * KL(softmax(t/T) || softmax(s/T)). CoD default: weight 20, T = 2, plus ce."""

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        t = self.temperature
        assert inputs.teacher_logits is not None  # the loop runs the teacher for logit terms
        return t * t * kl(inputs.teacher_logits, inputs.student_logits, t)


@register_loss("reverse_kl")
class ReverseKL(_TemperatureTerm):
    """T^2 * KL(softmax(s/T) || softmax(t/T)) (mode-seeking)."""

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        t = self.temperature
        assert inputs.teacher_logits is not None  # the loop runs the teacher for logit terms
        return t * t * kl(inputs.student_logits, inputs.teacher_logits, t)


@register_loss("gjsd")
class GeneralizedJSD(_TemperatureTerm):
    """T^2 * generalised JSD with ``beta`` (0: forward KL, 1: reverse KL; see
    :func:`~codistill.distill.losses.functional.generalized_jsd`)."""

    def __init__(self, beta: float = 0.5, temperature: float = 1.0, normalize: bool = False) -> None:
        super().__init__(temperature)
        if not 0 <= beta <= 1:
            raise ValueError("beta must be in [0, 1]")
        self.beta, self.normalize = float(beta), bool(normalize)

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        t = self.temperature
        assert inputs.teacher_logits is not None  # the loop runs the teacher for logit terms
        return t * t * generalized_jsd(inputs.teacher_logits, inputs.student_logits, self.beta, t, self.normalize)
