"""Metrics and batched prediction."""

from codistill.evaluation.metrics import accuracy, confusion_matrix, label_metrics, macro_f1, mcc
from codistill.evaluation.predict import predict_logits

__all__ = ["accuracy", "confusion_matrix", "label_metrics", "macro_f1", "mcc", "predict_logits"]
