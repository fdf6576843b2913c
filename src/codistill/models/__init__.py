"""Model loading (packaged names, local paths, hub ids) and student construction."""

from codistill.models.layer_subset import derive_student, keep_layers, spread_layers
from codistill.models.loading import (
    ModelRef,
    load_classifier,
    load_scorer,
    load_tokenizer,
    model_fingerprint,
    resolve_model,
)
from codistill.models.registry import PACKAGED_MODELS

__all__ = [
    "PACKAGED_MODELS",
    "ModelRef",
    "derive_student",
    "keep_layers",
    "load_classifier",
    "load_scorer",
    "load_tokenizer",
    "model_fingerprint",
    "resolve_model",
    "spread_layers",
]
