"""Deployable students: ONNX export (optionally dynamic int8), checked against the PyTorch model.

``export_onnx(model_dir, output_dir, texts)`` writes ``model.onnx`` (+ ``model.int8.onnx``), the
tokenizer files, ``export.json`` (label names, max_length, pooling, agreement) and a README
snippet that runs the model with onnxruntime alone. A plain sequence classifier (what
``codistill distill`` / ``teacher`` save) and a SetFit directory (a pooled student: sentence-transformers
body + differentiable ``SetFitHead``) are both accepted.
"""

from codistill.export.api import ExportResult, export_onnx
from codistill.export.check import ExportRefused, OnnxClassifier, label_agreement
from codistill.export.loading import Exportable, Exporter, load_exportable

__all__ = [
    "ExportRefused",
    "ExportResult",
    "Exportable",
    "Exporter",
    "OnnxClassifier",
    "export_onnx",
    "label_agreement",
    "load_exportable",
]
