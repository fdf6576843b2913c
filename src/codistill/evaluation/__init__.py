"""Metrics and batched prediction."""

from codistill.evaluation.fidelity import (
    agreement,
    expected_calibration_error,
    fidelity_metrics,
    flip_consistency,
    kl_divergence,
)
from codistill.evaluation.metrics import accuracy, confusion_matrix, label_metrics, macro_f1, mcc
from codistill.evaluation.predict import predict_logits

__all__ = [
    "accuracy",
    "agreement",
    "confusion_matrix",
    "expected_calibration_error",
    "fidelity_metrics",
    "flip_consistency",
    "kl_divergence",
    "label_metrics",
    "macro_f1",
    "mcc",
    "predict_logits",
]
