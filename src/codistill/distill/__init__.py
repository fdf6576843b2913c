"""Distillation: registered loss terms, cached teacher signals, pair-aware training, evaluation."""

from codistill.distill.config import DistillConfig, EvaluateConfig, LossSpec, StudentConfig
from codistill.distill.recipes import RECIPES

__all__ = [
    "RECIPES",
    "DistillConfig",
    "DistillResult",
    "DistillSession",
    "EvaluateConfig",
    "LossSpec",
    "StudentConfig",
    "distill",
]


def __getattr__(name: str):  # heavy imports (torch, transformers) only when used
    if name in ("distill", "DistillResult"):
        from codistill.distill import run

        return getattr(run, name)
    if name == "DistillSession":
        from codistill.distill.session import DistillSession

        return DistillSession
    raise AttributeError(name)
