"""Teacher fine-tuning."""

from codistill.teacher.config import TeacherConfig
from codistill.teacher.finetune import TeacherResult, train_teacher

__all__ = ["TeacherConfig", "TeacherResult", "train_teacher"]
