"""Objects a run needs that are expensive to build, cached across runs in one process.

Sweeps call :func:`codistill.distill.distill` many times; a :class:`DistillSession` makes the
second call skip loading the data, the teacher (and its signal cache), the student's initial
weights and the counterfactual file.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codistill.counterfactuals.record import CounterfactualRecord, read_counterfactuals
from codistill.data import DataConfig, TaskData, load_task
from codistill.distill.config import StudentConfig
from codistill.distill.signals import TeacherSignals

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class DistillSession:
    def __init__(self) -> None:
        self._data: dict[str, TaskData] = {}
        self._teachers: dict[tuple[str, int, bool], TeacherSignals] = {}
        self._students: dict[str, tuple[Any, Any]] = {}
        self._cfs: dict[tuple[str, int], list[CounterfactualRecord]] = {}

    def data(self, config: DataConfig) -> TaskData:
        key = config.fingerprint()
        if key not in self._data:
            self._data[key] = load_task(config)
        return self._data[key]

    def add_data(self, config: DataConfig, data: TaskData) -> None:
        self._data[config.fingerprint()] = data

    def teacher(
        self, path: str, max_length: int | None = None, disk_cache: bool = True, num_labels: int = 2
    ) -> TeacherSignals:
        """Cached signals of the teacher at ``path``, read at its own max_length (or the override)."""
        from codistill.teacher.meta import teacher_max_length

        max_length = teacher_max_length(path, max_length)
        key = (
            str(Path(path).expanduser().resolve()) if Path(path).expanduser().exists() else path,
            max_length,
            disk_cache,
        )
        if key not in self._teachers:
            import torch

            from codistill.models import load_scorer

            # a classifier, a LoRA adapter or a verbalizer LM: all map texts to label logits
            model, tokenizer, fingerprint = load_scorer(path, num_labels=num_labels, role="teacher")
            if torch.cuda.is_available():
                from codistill.utils.distributed import device

                model = model.to(device())  # this process's GPU under a multi-process launch
            self._teachers[key] = TeacherSignals(
                model, tokenizer, fingerprint, max_length, cache_dir=None if disk_cache else False
            )
        return self._teachers[key]

    def student(
        self, config: StudentConfig, num_labels: int, label_names: tuple[str, ...], teacher: str | None = None
    ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """A fresh deep copy of the student's initial weights (loaded once) and its tokenizer.
        ``teacher`` is the run's teacher directory, for students derived from its layers."""
        from codistill.distill.student import build_student, resolve_student

        source = resolve_student(config, teacher)
        key = f"{source}|{num_labels}|{config.head_dropout}"
        if key not in self._students:
            self._students[key] = build_student(source, num_labels, label_names, config.head_dropout)
        model, tokenizer = self._students[key]
        return copy.deepcopy(model), tokenizer

    def counterfactuals(self, path: str) -> list[CounterfactualRecord]:
        key = (str(path), os.stat(path).st_mtime_ns) if os.path.exists(path) else (str(path), 0)
        if key not in self._cfs:
            self._cfs[key] = read_counterfactuals(path)
        return self._cfs[key]


_DEFAULT: DistillSession | None = None


def default_session() -> DistillSession:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = DistillSession()
    return _DEFAULT
