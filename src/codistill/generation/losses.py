"""Token-level divergences between teacher and student next-token distributions.

All take logits (..., V) aligned on the same positions ((B, T, V), or (N, V) already gathered at
the response positions) and a mask (...) of the positions that count (response tokens); they return the mean over counted positions, multiplied by T^2 as in
Hinton KD so gradients keep their scale across temperatures.
"""

from __future__ import annotations

import torch

from codistill.distill.losses.functional import generalized_jsd, kl
from codistill.errors import ConfigError

LOSSES = ("forward_kl", "reverse_kl", "gjsd")


def shared_vocab_logits(
    student: torch.Tensor, teacher: torch.Tensor, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both logits cut to the tokenizer's vocabulary (embedding matrices are often padded)."""
    if student.shape[-1] < vocab_size or teacher.shape[-1] < vocab_size:
        raise ConfigError(
            f"logits ({student.shape[-1]} / {teacher.shape[-1]}) are narrower than the shared vocabulary ({vocab_size})"
        )
    return student[..., :vocab_size], teacher[..., :vocab_size]


def token_divergence(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor,
    loss: str = "forward_kl",
    *,
    beta: float = 0.5,
    temperature: float = 1.0,
) -> torch.Tensor:
    if loss not in LOSSES:
        raise ConfigError(f"unknown token loss {loss!r}; known: {', '.join(LOSSES)}")
    keep = mask.bool()
    if not keep.any():
        return student_logits.new_zeros((), dtype=torch.float32)
    s, t = student_logits[keep], teacher_logits[keep]  # (N, V): only counted positions
    if loss == "forward_kl":
        value = kl(t, s, temperature)
    elif loss == "reverse_kl":
        value = kl(s, t, temperature)
    else:
        value = generalized_jsd(t, s, beta, temperature)
    return value * temperature**2
