"""Closed-form distillation losses on tensors (no modules, no state), used by the loss terms.

Conventions: ``teacher`` and ``student`` are logits of shape (B, C); every function returns the
mean over the batch of a per-example divergence. Temperature-scaled divergences are *not*
multiplied by T^2 here; the loss terms do that.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def kl(p_logits: torch.Tensor, q_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(p || q) of softmax(p/T) and softmax(q/T), batch mean."""
    lp = F.log_softmax(p_logits.float() / temperature, dim=-1)
    lq = F.log_softmax(q_logits.float() / temperature, dim=-1)
    return (lp.exp() * (lp - lq)).sum(-1).mean()


def generalized_jsd(
    teacher: torch.Tensor, student: torch.Tensor, beta: float = 0.5, temperature: float = 1.0, normalize: bool = False
) -> torch.Tensor:
    """Generalised Jensen-Shannon divergence of Agarwal et al. (GKD), as in TRL:

    ``JSD_beta = beta * KL(T || M) + (1 - beta) * KL(S || M)``, ``M = beta * T + (1 - beta) * S``.

    As in TRL, ``beta = 0`` is the forward KL(T || S) and ``beta = 1`` the reverse KL(S || T).
    ``normalize=True`` divides by ``beta * (1 - beta)``, which makes the family continuous in beta:
    its limits at 0 and 1 are those two KLs (JSD_beta ~ beta * KL(T || S) for small beta).
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    if beta == 0.0:
        return kl(teacher, student, temperature)
    if beta == 1.0:
        return kl(student, teacher, temperature)
    lt = F.log_softmax(teacher.float() / temperature, dim=-1)
    ls = F.log_softmax(student.float() / temperature, dim=-1)
    lm = torch.logsumexp(torch.stack([lt + math.log(beta), ls + math.log(1.0 - beta)]), dim=0)
    jsd = beta * (lt.exp() * (lt - lm)).sum(-1) + (1.0 - beta) * (ls.exp() * (ls - lm)).sum(-1)
    if normalize:
        jsd = jsd / (beta * (1.0 - beta))
    return jsd.mean()


def masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error over the real (mask = 1) positions of (B, T, H) tensors; padding is
    excluded from both the sum and the count. ``mask=None`` averages over everything."""
    diff = (a.float() - b.float()).pow(2)
    if mask is None:
        return diff.mean()
    m = mask.to(diff.dtype).unsqueeze(-1)
    return (diff * m).sum() / (m.sum() * diff.shape[-1]).clamp_min(1.0)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real positions: (B, T, H), (B, T) -> (B, H)."""
    m = mask.to(h.dtype).unsqueeze(-1)
    return (h * m).sum(1) / m.sum(1).clamp_min(1.0)
