"""The counterfactual file: the contract between ``codistill counterfactuals`` (which writes it)
and ``codistill distill`` (which reads it).

One JSON object per line. Required: ``original_id`` (the :class:`~codistill.data.Example` id),
``counterfactual_text`` and ``counterfactual_label`` (the *teacher's* prediction on the
counterfactual, never a gold label). Everything else is provenance and quality information;
``task``, ``teacher_fingerprint`` and ``teacher_max_length`` say which task and which teacher
(read at how many tokens) verified the flip, and distillation checks them against its run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from codistill.errors import DataError


@dataclass
class CounterfactualRecord:
    original_id: str
    counterfactual_text: str
    counterfactual_label: int
    original_text: str = ""
    original_label: int | None = None  # gold label of the original
    teacher_label_original: int | None = None
    teacher_probs_original: list[float] | None = None
    teacher_probs_counterfactual: list[float] | None = None
    generator: str = ""
    attempts: int = 1
    cost_usd: float = 0.0
    task: str = ""
    teacher_fingerprint: str = ""
    teacher_max_length: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any], where: str = "record") -> CounterfactualRecord:
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("original_id", "counterfactual_text", "counterfactual_label") if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
        extra = {k: v for k, v in row.items() if k not in known}
        data = {k: v for k, v in row.items() if k in known}
        if extra:
            data["meta"] = {**data.get("meta", {}), **extra}
        if not isinstance(data["counterfactual_text"], str) or not data["counterfactual_text"].strip():
            raise DataError(f"{where}: empty counterfactual_text")
        try:
            data["counterfactual_label"] = int(data["counterfactual_label"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: counterfactual_label must be an integer label id") from None
        return cls(**data)


def read_counterfactuals(path: str | Path) -> list[CounterfactualRecord]:
    from codistill.data.readers import read_rows

    path = Path(path)
    if not path.is_file():
        raise DataError(f"counterfactual file not found: {path}")
    return [CounterfactualRecord.from_dict(row, where) for where, row in read_rows(path)]


def write_counterfactuals(path: str | Path, records: list[CounterfactualRecord]) -> Path:
    from codistill.utils.io import atomic_write_jsonl

    return atomic_write_jsonl(path, (r.to_dict() for r in records))
