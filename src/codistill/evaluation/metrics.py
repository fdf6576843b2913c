"""Classification metrics computed from label arrays (no scikit-learn dependency).

Every function takes integer arrays of gold labels and predictions; degenerate cases follow
scikit-learn's conventions (MCC and F1 are 0 where undefined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import numpy as np

# class ids as a list or an integer array (predictions come as argmax arrays)
Labels = Union[Sequence[int], np.ndarray]


def _arrays(y_true: Labels, y_pred: Labels) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"label arrays differ in shape: {t.shape} vs {p.shape}")
    if t.size == 0:
        raise ValueError("cannot score an empty set")
    return t, p


def _num_labels(t: np.ndarray, p: np.ndarray, num_labels: int | None) -> int:
    """``num_labels``, or (None) at least 2 and enough for every label in either array."""
    return num_labels if num_labels is not None else max(2, int(max(t.max(), p.max())) + 1)


def confusion_matrix(y_true: Labels, y_pred: Labels, num_labels: int | None = None) -> np.ndarray:
    """Counts ``cm[gold, predicted]``."""
    t, p = _arrays(y_true, y_pred)
    num_labels = _num_labels(t, p, num_labels)
    cm = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def accuracy(y_true: Labels, y_pred: Labels) -> float:
    t, p = _arrays(y_true, y_pred)
    return float((t == p).mean())


def macro_f1(y_true: Labels, y_pred: Labels, num_labels: int | None = None) -> float:
    cm = confusion_matrix(y_true, y_pred, num_labels).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)  # predicted + actual = 2tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())


def mcc(y_true: Labels, y_pred: Labels, num_labels: int | None = None) -> float:
    """Matthews correlation (multi-class form of Gorodkin 2004; equals the binary formula)."""
    cm = confusion_matrix(y_true, y_pred, num_labels).astype(np.float64)
    n = cm.sum()
    correct = np.trace(cm)
    pred, true = cm.sum(0), cm.sum(1)
    cov_tp = correct * n - pred @ true
    denom = np.sqrt(n**2 - pred @ pred) * np.sqrt(n**2 - true @ true)
    return float(cov_tp / denom) if denom > 0 else 0.0


def per_class_recall(y_true: Labels, y_pred: Labels, num_labels: int | None = None) -> list[float | None]:
    """Recall of each class (None for a class absent from ``y_true``)."""
    cm = confusion_matrix(y_true, y_pred, num_labels)
    support = cm.sum(1)
    return [float(cm[c, c] / support[c]) if support[c] else None for c in range(len(cm))]


def class_report(y_true: Labels, y_pred: Labels, num_labels: int | None = None) -> dict[str, list]:
    """Per-class recall and the confusion matrix (rows gold, columns predicted), JSON-ready."""
    return {
        "per_class_recall": per_class_recall(y_true, y_pred, num_labels),
        "confusion_matrix": confusion_matrix(y_true, y_pred, num_labels).tolist(),
    }


LABEL_METRICS: dict[str, Callable[..., float]] = {"accuracy": accuracy, "macro_f1": macro_f1, "mcc": mcc}


def label_metrics(
    y_true: Labels,
    y_pred: Labels,
    names: Sequence[str] = ("accuracy", "macro_f1", "mcc"),
    num_labels: int | None = None,
) -> dict[str, float]:
    """The named label-based metrics; unknown names are an error. ``num_labels`` (default: from
    the labels seen) matters for macro-F1 when a class is never predicted nor present."""
    out = {}
    for name in names:
        if name not in LABEL_METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(LABEL_METRICS)}")
        out[name] = (
            LABEL_METRICS[name](y_true, y_pred)
            if name == "accuracy"
            else LABEL_METRICS[name](y_true, y_pred, num_labels)
        )
    return out
