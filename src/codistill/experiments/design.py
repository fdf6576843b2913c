"""What a sweep folder records about its grid: ``sweep.yaml`` and its pre-set design.

The pre-set design: the tasks, k, seeds and methods fixed before any run is scored.

The first sweep into an output folder writes ``design.json`` beside ``results.jsonl`` before its
first run. A later sweep of the same folder that adds seeds, k, methods or tasks does not change
that design: what it adds is recorded as an *extension* (with when it was added), and every table,
test and figure reports the pre-set cells as the primary result and the rest only as a labelled
secondary analysis. This is what keeps "add seeds until p < 0.05" from passing as a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from codistill.errors import DataError
from codistill.experiments.config import SweepConfig
from codistill.experiments.records import RunKey, RunRecord
from codistill.utils.io import atomic_write_json

DESIGN_FILE = "design.json"
#: the dimensions of a sweep's grid, as stored
DIMENSIONS = ("tasks", "methods", "ks", "seeds")
SECONDARY_TITLE = "secondary analysis (added after the design was fixed)"


def grid_of(keys: Iterable[RunKey]) -> dict[str, list]:
    """The grid ``keys`` span, as sorted lists per dimension."""
    keys = list(keys)
    return {
        "tasks": sorted({k.task for k in keys}),
        "methods": sorted({k.method for k in keys}),
        "ks": sorted({k.k for k in keys}),
        "seeds": sorted({k.seed for k in keys}),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Design:
    """The pre-set grid (``primary``) and what later sweeps added to it (``extensions``)."""

    primary: dict[str, list]
    fixed_at: str
    extensions: list[dict[str, Any]] = field(default_factory=list)

    def is_primary(self, key: RunKey) -> bool:
        p = self.primary
        return key.task in p["tasks"] and key.method in p["methods"] and key.k in p["ks"] and key.seed in p["seeds"]

    def known(self) -> dict[str, set]:
        """Every value of each dimension the design or an extension has named."""
        out = {d: set(self.primary[d]) for d in DIMENSIONS}
        for ext in self.extensions:
            for d in DIMENSIONS:
                out[d].update(ext["added"].get(d, []))
        return out

    def describe(self) -> str:
        p = self.primary
        return (
            f"tasks {', '.join(p['tasks'])}; methods {', '.join(p['methods'])}; k {p['ks']}; seeds {p['seeds']} "
            f"(fixed {self.fixed_at})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"primary": self.primary, "fixed_at": self.fixed_at, "extensions": self.extensions}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Design:
        try:
            primary = {d: list(raw["primary"][d]) for d in DIMENSIONS}
            return cls(primary, str(raw["fixed_at"]), list(raw.get("extensions", [])))
        except (KeyError, TypeError) as e:
            raise DataError(f"{DESIGN_FILE}: not a codistill design record ({e})") from None


def load_design(folder: str | Path) -> Design | None:
    """The design recorded in ``folder`` (a sweep's output folder), or None if none was."""
    path = Path(folder) / DESIGN_FILE
    if not path.is_file():
        return None
    try:
        return Design.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None


def record_design(folder: str | Path, keys: Sequence[RunKey], echo: Callable[[str], None] = print) -> Design:
    """Fix the design of a sweep folder on its first run; on later runs, record what ``keys`` add
    beyond it as an extension (said in one line) and leave the pre-set design as it was."""
    path = Path(folder) / DESIGN_FILE
    current = grid_of(keys)
    design = load_design(folder)
    if design is None:
        design = Design(current, _now())
        atomic_write_json(path, design.to_dict())
        return design
    known = design.known()
    added = {d: sorted(set(current[d]) - known[d]) for d in DIMENSIONS}
    added = {d: v for d, v in added.items() if v}
    if added:
        design.extensions.append({"added": added, "at": _now()})
        atomic_write_json(path, design.to_dict())
        what = "; ".join(f"{d} {', '.join(map(str, v))}" for d, v in added.items())
        echo(
            f"design: {what} added after the design was fixed ({design.describe()}); "
            "their runs are reported as a secondary analysis"
        )
    return design


def split_records(records: Sequence[RunRecord], design: Design | None) -> tuple[list[RunRecord], list[RunRecord]]:
    """(the pre-set design's records, the rest); with no recorded design every record is primary."""
    if design is None:
        return list(records), []
    primary: list[RunRecord] = []
    secondary: list[RunRecord] = []
    for r in records:
        (primary if design.is_primary(r.key) else secondary).append(r)
    return primary, secondary


def design_note(design: Design | None, secondary: Sequence[RunRecord]) -> str:
    """One line for a report: what the primary result covers."""
    if design is None:
        return (
            "the design was not recorded (a sweep made by an older codistill, or a results file put "
            "together by hand): every run is reported as one analysis"
        )
    note = f"pre-set design: {design.describe()}"
    if secondary:
        note += f"; {len(secondary)} run(s) outside it are reported only in the {SECONDARY_TITLE}"
    return note


def save_config(config: SweepConfig, out_dir: Path, echo: Callable[[str], None]) -> Path:
    """Write ``sweep.yaml``; a different earlier config (say a grid extended by more seeds) is
    kept as ``sweep.<n>.yaml`` rather than overwritten."""
    path = out_dir / "sweep.yaml"
    from codistill.utils.secrets import redact_obj

    if path.is_file() and SweepConfig.from_yaml(path).to_dict() != redact_obj(config.to_dict()):  # stored redacted
        n = 1
        while (out_dir / f"sweep.{n}.yaml").exists():
            n += 1
        path.rename(out_dir / f"sweep.{n}.yaml")
        echo(f"the sweep config changed: the previous one is kept as {out_dir / f'sweep.{n}.yaml'}")
    config.save(path)
    return path
