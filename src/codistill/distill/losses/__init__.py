"""Registered loss terms (``ce``, ``kd``, ``reverse_kl``, ``gjsd``, ``hidden``, ``ted``)."""

from codistill.distill.losses import hidden, logits, ted  # noqa: F401  (registration)
from codistill.distill.losses.base import (
    LOSSES,
    LossInputs,
    LossTerm,
    ModelShapes,
    default_layer_map,
    make_loss,
    register_loss,
)

__all__ = ["LOSSES", "LossInputs", "LossTerm", "ModelShapes", "default_layer_map", "make_loss", "register_loss"]
