"""Classification metrics computed from label arrays (no scikit-learn dependency).

Every function takes integer arrays of gold labels and predictions; degenerate cases follow
scikit-learn's conventions (MCC and F1 are 0 where undefined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _arrays(y_true: Sequence[int], y_pred: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"label arrays differ in shape: {t.shape} vs {p.shape}")
    if t.size == 0:
        raise ValueError("cannot score an empty set")
    return t, p


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int = 2) -> np.ndarray:
    t, p = _arrays(y_true, y_pred)
    cm = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    t, p = _arrays(y_true, y_pred)
    return float((t == p).mean())


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int = 2) -> float:
    cm = confusion_matrix(y_true, y_pred, num_labels).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)  # predicted + actual = 2tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())


def mcc(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int = 2) -> float:
    """Matthews correlation (multi-class form of Gorodkin 2004; equals the binary formula)."""
    cm = confusion_matrix(y_true, y_pred, num_labels).astype(np.float64)
    n = cm.sum()
    correct = np.trace(cm)
    pred, true = cm.sum(0), cm.sum(1)
    cov_tp = correct * n - pred @ true
    denom = np.sqrt(n**2 - pred @ pred) * np.sqrt(n**2 - true @ true)
    return float(cov_tp / denom) if denom > 0 else 0.0


LABEL_METRICS: dict[str, Callable[..., float]] = {"accuracy": accuracy, "macro_f1": macro_f1, "mcc": mcc}


def label_metrics(y_true: Sequence[int], y_pred: Sequence[int], names: Sequence[str] = ("accuracy", "macro_f1", "mcc")) -> dict[str, float]:
    """The named label-based metrics; unknown names are an error."""
    out = {}
    for name in names:
        if name not in LABEL_METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(LABEL_METRICS)}")
        out[name] = LABEL_METRICS[name](y_true, y_pred)
    return out
