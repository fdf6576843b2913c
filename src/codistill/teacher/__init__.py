"""Teacher fine-tuning.

Exports load lazily: light modules such as :mod:`codistill.teacher.meta` (read by the verifier
and distillation) must not pay for importing the training stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codistill.teacher.config import TeacherConfig
    from codistill.teacher.finetune import TeacherResult, train_teacher

__all__ = ["TeacherConfig", "TeacherResult", "train_teacher"]


def __getattr__(name: str) -> Any:
    if name == "TeacherConfig":
        from codistill.teacher.config import TeacherConfig

        return TeacherConfig
    if name in ("TeacherResult", "train_teacher"):
        from codistill.teacher import finetune

        return getattr(finetune, name)
    raise AttributeError(f"module 'codistill.teacher' has no attribute {name!r}")
