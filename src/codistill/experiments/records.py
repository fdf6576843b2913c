"""Run records and the append-only results file that makes sweeps resumable.

Each finished run is one JSON line, written with a single ``write`` + ``fsync`` of a complete
line. A sweep killed mid-write leaves at most one partial last line, which the reader reports
and ignores and the next append truncates, so records are never lost or duplicated: a rerun
skips every key already present. One process writes (a sweep's workers report to it).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codistill.errors import DataError


@dataclass(frozen=True, order=True)
class RunKey:
    """What identifies one run of a sweep."""

    task: str
    recipe: str
    cod: bool
    k: int
    seed: int
    mode: str = "paper"  # CoD budget mode: paper, full or multi<m> (older records: paper)

    @property
    def method(self) -> str:
        if not self.cod:
            return self.recipe
        from codistill.distill.budget_modes import from_run_key

        mode, _ = from_run_key(self.mode)
        return f"{self.recipe}+cod" + ("" if mode.half else f"-{self.mode}")

    def as_id(self) -> str:
        return f"{self.task}/{self.method}/k{self.k}/s{self.seed}"


#: config keys that do not change a run's result (where it is saved, whether weights are kept)
NOT_INPUTS = ("output_dir", "save_model")
TRACKING_FIELDS = ("report_to", "run_name", "logging_dir")
#: config fields added after sweeps had written records: left out of a run's inputs while at their
#: default, so a sweep made before they existed still resumes
LATER_DEFAULTS = {"counterfactual_labels": "teacher"}


def run_inputs(
    distill_config: dict[str, Any], teacher_fingerprint: str, counterfactuals_sha256: str | None, **more: Any
) -> dict[str, Any]:
    """Everything a run's numbers depend on, as recorded beside them: the resolved config, the
    teacher's and the counterfactual file's fingerprints, and ``more`` (the data's content
    fingerprint, the student weights' fingerprint, the contrast file's hash, the codistill
    version, the counterfactual generation config)."""
    config = {
        k: v
        for k, v in distill_config.items()
        if k not in NOT_INPUTS and not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])
    }
    if isinstance(config.get("train"), dict):  # trackers and where they log do not change the numbers
        config["train"] = {k: v for k, v in config["train"].items() if k not in TRACKING_FIELDS}
    return {
        "distill": config,
        "teacher_fingerprint": teacher_fingerprint,
        "counterfactuals_sha256": counterfactuals_sha256,
        **more,
    }


def input_differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two input dicts (nested dicts walked)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += input_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


@dataclass
class RunRecord:
    key: RunKey
    metrics: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    counterfactuals: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    #: training-set composition: originals, counterfactuals attached, dropped (by reason), train_steps
    train_set: dict[str, Any] = field(default_factory=dict)
    #: hash of every input of the run (resolved config, teacher fingerprint, counterfactual file
    #: content); a resumed sweep reuses a record only when it matches (see :func:`run_inputs`)
    fingerprint: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    #: the same metrics on the validation split carved from the pool: what sweeps choose on
    #: (student, lr, step budget); tables and reports show test
    validation: dict[str, float] = field(default_factory=dict)
    #: a few of the run's outputs to read beside its numbers (explanation students: what they wrote)
    samples: list[dict[str, Any]] = field(default_factory=list)
    #: the test split per class: label_names, per_class_recall, confusion_matrix (rows gold, columns predicted)
    classes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.key.as_id(), **asdict(self)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            key=RunKey(**row["key"]),
            metrics=dict(row["metrics"]),
            timings=dict(row.get("timings", {})),
            counterfactuals=dict(row.get("counterfactuals", {})),
            config=dict(row.get("config", {})),
            train_set=dict(row.get("train_set", {})),
            fingerprint=str(row.get("fingerprint", "")),
            inputs=dict(row.get("inputs", {})),
            validation=dict(row.get("validation", {})),
            samples=list(row.get("samples", [])),
            classes=dict(row.get("classes", {})),
        )


class ResultStore:
    """Append-only JSON-lines file of :class:`RunRecord`; one record per :class:`RunKey`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.skipped_partial_lines = 0

    def load(self) -> list[RunRecord]:
        if not self.path.is_file():
            return []
        records: dict[RunKey, RunRecord] = {}
        self.skipped_partial_lines = 0
        with self.path.open(encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = RunRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                if lineno == len(lines):  # a write cut short by a kill: the run will simply be redone
                    self.skipped_partial_lines += 1
                    continue
                raise DataError(f"{self.path}:{lineno}: corrupt result record ({exc})") from None
            records.setdefault(record.key, record)  # the first complete record of a key wins
        return list(records.values())

    def done(self) -> set[RunKey]:
        return {r.key for r in self.load()}

    def by_key(self) -> dict[RunKey, RunRecord]:
        return {r.key: r for r in self.load()}

    def append(self, record: RunRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        from codistill.utils.secrets import redact

        line = (
            redact(json.dumps(record.to_dict(), sort_keys=True, ensure_ascii=False)) + "\n"
        )  # like every file codistill writes
        with self.path.open("a+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a line cut short by a kill: drop it before appending
                    handle.seek(0)
                    content = handle.read()
                    handle.truncate(content.rfind(b"\n") + 1)
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
