"""Distillation metrics computed from logits: how faithfully a student follows its teacher.

All functions take numpy arrays of logits (N, C) (or integer predictions) and return floats.
"""

from __future__ import annotations

import numpy as np

from codistill.evaluation.metrics import Labels


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def agreement(teacher_pred: Labels, student_pred: Labels) -> float:
    """Fraction of inputs on which the student predicts the teacher's label (fidelity)."""
    t, s = np.asarray(teacher_pred), np.asarray(student_pred)
    if t.shape != s.shape or t.size == 0:
        raise ValueError("agreement needs two non-empty prediction arrays of the same shape")
    return float((t == s).mean())


def kl_divergence(teacher_logits: np.ndarray, student_logits: np.ndarray, temperature: float = 1.0) -> float:
    """Mean over inputs of KL(teacher || student) of the (temperature-scaled) softmax outputs."""
    lt = log_softmax(np.asarray(teacher_logits) / temperature)
    ls = log_softmax(np.asarray(student_logits) / temperature)
    return float((np.exp(lt) * (lt - ls)).sum(-1).mean())


def expected_calibration_error(logits: np.ndarray, labels: Labels, bins: int = 15) -> float:
    """ECE with ``bins`` equal-width confidence bins: sum_b |B|/N * |acc(B) - conf(B)|."""
    probs = softmax(logits)
    conf = probs.max(-1)
    correct = (probs.argmax(-1) == np.asarray(labels)).astype(np.float64)
    # bin i holds conf in (i/bins, (i+1)/bins]; confidence 1/C..1 never falls below the first edge
    idx = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def flip_consistency(
    teacher_original: Labels,
    teacher_counterfactual: Labels,
    student_original: Labels,
    student_counterfactual: Labels,
) -> dict[str, float]:
    """Over (original, counterfactual) pairs:

    - ``flip_consistency``: the student's prediction flips exactly where the teacher's does
      (both flip, or neither does);
    - ``pair_agreement``: the student agrees with the teacher on both texts of the pair;
    - ``teacher_flip_rate`` / ``student_flip_rate``: how often each flips.
    """
    to, tc, so, sc = (
        np.asarray(a) for a in (teacher_original, teacher_counterfactual, student_original, student_counterfactual)
    )
    if not (to.shape == tc.shape == so.shape == sc.shape) or to.size == 0:
        raise ValueError("flip consistency needs four non-empty prediction arrays of the same shape")
    t_flip, s_flip = to != tc, so != sc
    return {
        "flip_consistency": float((t_flip == s_flip).mean()),
        "pair_agreement": float(((to == so) & (tc == sc)).mean()),
        "teacher_flip_rate": float(t_flip.mean()),
        "student_flip_rate": float(s_flip.mean()),
        "pairs": int(to.size),
    }


def fidelity_metrics(
    teacher_logits: np.ndarray, student_logits: np.ndarray, labels: Labels | None = None
) -> dict[str, float]:
    """Agreement and KL(teacher || student); with gold labels also the student's and teacher's ECE."""
    out = {
        "agreement": agreement(teacher_logits.argmax(-1), student_logits.argmax(-1)),
        "kl_teacher_student": kl_divergence(teacher_logits, student_logits),
    }
    if labels is not None:
        out["ece"] = expected_calibration_error(student_logits, labels)
        out["teacher_ece"] = expected_calibration_error(teacher_logits, labels)
    return out
