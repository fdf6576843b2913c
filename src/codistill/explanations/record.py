"""The explanation file: the contract between ``codistill explain`` (which writes it) and
``codistill explain-distill`` (which reads it).

One JSON object per line, one per example. Required: ``id``, ``text``, ``teacher_label``.
``rationale`` and ``counterfactual_text`` may be missing (``null``) where the source gave none or
the task teacher did not verify the counterfactual; a student then trains on that example's task
target only. ``counterfactual_label`` is always the *teacher's* prediction on the counterfactual.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from codistill.errors import DataError

REQUIRED = ("id", "text", "teacher_label")


@dataclass
class ExplanationRecord:
    id: str  # the task Example id
    text: str
    teacher_label: int  # the task teacher's prediction on ``text`` (what is explained)
    label: int | None = None  # gold label
    teacher_probs: list[float] | None = None
    rationale: str | None = None  # rendered rationale target, e.g. 'negative: "dull", "lifeless"'
    evidence: list[str] = field(default_factory=list)  # salient words (teacher source) or []
    counterfactual_text: str | None = None  # full counterfactual, verified by the task teacher
    counterfactual_label: int | None = None
    counterfactual_probs: list[float] | None = None
    counterfactual: str | None = None  # rendered target, e.g. '"a dull film" -> "a vivid film" would be positive'
    critique: str | None = None
    revision: str | None = None  # replaces the draft rationale when present
    source: str = ""  # teacher | openai | hf-chat
    provenance: dict[str, Any] = field(default_factory=dict)  # model, teacher fingerprint, prompt hash, cost, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any], where: str = "record") -> ExplanationRecord:
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in row.items() if k in known}
        try:
            data["teacher_label"] = int(data["teacher_label"])
        except (TypeError, ValueError):
            raise DataError(f"{where}: teacher_label must be an integer label id") from None
        if data.get("counterfactual_text") and data.get("counterfactual_label") is None:
            raise DataError(f"{where}: counterfactual_text without counterfactual_label")
        return cls(**data)


def read_explanations(path: str | Path) -> list[ExplanationRecord]:
    from codistill.data.readers import read_rows

    path = Path(path)
    if not path.is_file():
        raise DataError(f"explanation file not found: {path}")
    return [ExplanationRecord.from_dict(row, where) for where, row in read_rows(path)]


def write_explanations(path: str | Path, records: list[ExplanationRecord]) -> Path:
    from codistill.utils.io import atomic_write_jsonl

    return atomic_write_jsonl(path, (r.to_dict() for r in records))


def to_dataset(records: list[ExplanationRecord]):
    """The records as a ``datasets.Dataset`` with a fixed schema (provenance as a JSON string),
    redacted of secrets like every file codistill writes."""
    import json

    import datasets

    from codistill.utils.secrets import redact_obj

    string, integer, floats = (
        datasets.Value("string"),
        datasets.Value("int64"),
        datasets.Sequence(datasets.Value("float64")),
    )
    schema = {
        "id": string,
        "text": string,
        "teacher_label": integer,
        "label": integer,
        "teacher_probs": floats,
        "rationale": string,
        "evidence": datasets.Sequence(string),
        "counterfactual_text": string,
        "counterfactual_label": integer,
        "counterfactual_probs": floats,
        "counterfactual": string,
        "critique": string,
        "revision": string,
        "source": string,
        "provenance": string,
    }
    rows = [{**r.to_dict(), "provenance": json.dumps(r.provenance, sort_keys=True)} for r in records]
    return datasets.Dataset.from_dict(
        redact_obj({c: [row[c] for row in rows] for c in schema}), features=datasets.Features(schema)
    )
