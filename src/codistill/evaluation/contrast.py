"""Contrast sets: gold (original, counterfactual) pairs written by people or another tool.

A contrast file is JSON lines, one pair per line::

    {"original": "a gripping film", "counterfactual": "a tedious film", "label": 1, "counterfactual_label": 0}

Labels are label ids or label names of the task. Scores: accuracy on the originals, on the
counterfactuals, and pair consistency (both texts of a pair right) -- against the gold labels
and, for a student, the same three against its teacher's predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codistill.data.readers import read_jsonl
from codistill.errors import DataError

FIELDS = ("original", "counterfactual", "label", "counterfactual_label")


@dataclass(frozen=True)
class ContrastPair:
    original: str
    counterfactual: str
    label: int
    counterfactual_label: int


def _label(value: Any, label_names: Sequence[str], where: str) -> int:
    if isinstance(value, bool):
        raise DataError(f"{where}: label {value!r} is neither a label id nor a label name")
    if isinstance(value, int) and 0 <= value < len(label_names):
        return value
    if isinstance(value, str):
        if value.strip().isdigit() and int(value) < len(label_names):
            return int(value)
        lowered = [n.lower() for n in label_names]
        if value.strip().lower() in lowered:
            return lowered.index(value.strip().lower())
    raise DataError(f"{where}: label {value!r} is neither a label id nor a label name ({', '.join(label_names)})")


def read_contrast(path: str | Path, label_names: Sequence[str]) -> list[ContrastPair]:
    """The pairs of a contrast file; a malformed line is a :class:`DataError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"contrast file {p} not found")
    pairs: list[ContrastPair] = []
    for where, row in read_jsonl(p):
        missing = [f for f in FIELDS if f not in row]
        if missing:
            raise DataError(f"{where}: missing {', '.join(missing)} (a pair needs {', '.join(FIELDS)})")
        texts = [row["original"], row["counterfactual"]]
        if not all(isinstance(t, str) and t.strip() for t in texts):
            raise DataError(f"{where}: original and counterfactual must be non-empty strings")
        pairs.append(
            ContrastPair(
                texts[0],
                texts[1],
                _label(row["label"], label_names, where),
                _label(row["counterfactual_label"], label_names, where),
            )
        )
    if not pairs:
        raise DataError(f"contrast file {p} holds no pairs")
    return pairs


def contrast_scores(
    reference_original: Sequence[int],
    reference_counterfactual: Sequence[int],
    pred_original: Sequence[int],
    pred_counterfactual: Sequence[int],
) -> dict[str, float]:
    """Accuracy on originals, on counterfactuals, and pair consistency (both right) of
    predictions against reference labels (gold, or a teacher's predictions)."""
    ro, rc, po, pc = (
        np.asarray(a, dtype=np.int64)
        for a in (reference_original, reference_counterfactual, pred_original, pred_counterfactual)
    )
    if not (ro.shape == rc.shape == po.shape == pc.shape) or ro.size == 0:
        raise ValueError("contrast scores need four non-empty label arrays of the same shape")
    right_o, right_c = ro == po, rc == pc
    return {
        "accuracy_original": float(right_o.mean()),
        "accuracy_counterfactual": float(right_c.mean()),
        "consistency": float((right_o & right_c).mean()),
    }


def contrast_metrics(
    pairs: Sequence[ContrastPair],
    student_original: Sequence[int],
    student_counterfactual: Sequence[int],
    teacher_original: Sequence[int] | None = None,
    teacher_counterfactual: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The student's contrast scores against gold; with teacher predictions also the student
    against the teacher (``vs_teacher``) and the teacher's own scores against gold (``teacher``)."""
    gold_o = [p.label for p in pairs]
    gold_c = [p.counterfactual_label for p in pairs]
    out: dict[str, Any] = contrast_scores(gold_o, gold_c, student_original, student_counterfactual)
    if teacher_original is not None and teacher_counterfactual is not None:
        out["vs_teacher"] = contrast_scores(
            teacher_original, teacher_counterfactual, student_original, student_counterfactual
        )
        out["teacher"] = contrast_scores(gold_o, gold_c, teacher_original, teacher_counterfactual)
    out["pairs"] = len(pairs)
    return out


#: contrast scores copied into sweep records (``contrast_<name>``) and shown by reports
RECORD_KEYS = ("accuracy_original", "accuracy_counterfactual", "consistency")


def flat_record_metrics(scores: dict[str, Any] | None) -> dict[str, float]:
    """``contrast_accuracy_original`` ... from a run's ``contrast`` scores (empty when absent)."""
    if not scores:
        return {}
    return {f"contrast_{k}": float(scores[k]) for k in RECORD_KEYS if isinstance(scores.get(k), (int, float))}
