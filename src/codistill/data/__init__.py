"""Tasks, data loading, splits and k-shot budgets."""

from codistill.data.config import DataConfig
from codistill.data.loading import load_task
from codistill.data.sampling import KShotSet, sample
from codistill.data.schema import Example, TaskData
from codistill.data.tasks import TASKS, TaskSpec, get_task, register_task

__all__ = [
    "TASKS",
    "DataConfig",
    "Example",
    "KShotSet",
    "TaskData",
    "TaskSpec",
    "get_task",
    "load_task",
    "register_task",
    "sample",
]
