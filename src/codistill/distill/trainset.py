"""The training set of one run: the k-shot originals plus, for CoD, their counterfactuals.

Counterfactuals are labelled by the *current* teacher (its prediction on the counterfactual
text, from the signal cache); the file's label is only checked against it, and disagreements
are counted in the run's report. Each original and its counterfactual form one group, which the
pair-aware sampler keeps in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codistill.counterfactuals.record import CounterfactualRecord
from codistill.data import TaskData, sample
from codistill.data.schema import Example
from codistill.distill.config import DistillConfig
from codistill.distill.signals import TeacherSignals
from codistill.errors import DataError


@dataclass(frozen=True)
class TrainItem:
    text: str
    label: int
    group: int
    is_counterfactual: bool
    source_id: str


@dataclass
class TrainSet:
    items: list[TrainItem]
    originals: list[Example]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [i.text for i in self.items]

    @property
    def labels(self) -> list[int]:
        return [i.label for i in self.items]

    def groups(self) -> list[list[int]]:
        by_group: dict[int, list[int]] = {}
        for idx, item in enumerate(self.items):
            by_group.setdefault(item.group, []).append(idx)
        return list(by_group.values())


def index_counterfactuals(records: Sequence[CounterfactualRecord]) -> dict[str, list[CounterfactualRecord]]:
    index: dict[str, list[CounterfactualRecord]] = {}
    for r in records:
        index.setdefault(r.original_id, []).append(r)
    return index


def cod_budget(config: DistillConfig) -> tuple[bool, int]:
    """(sample only the first k/2 originals?, counterfactuals per original) of the CoD mode:
    paper (k/2 originals, 1 each), full (k originals, 1 each), multi (k originals, cod_m each)."""
    if not config.cod:
        return False, 0
    if config.cod_mode == "paper":
        return True, 1
    return False, config.cod_m if config.cod_mode == "multi" else 1


def build_train_set(
    config: DistillConfig,
    data: TaskData,
    signals: TeacherSignals | None,
    records: Sequence[CounterfactualRecord] | None,
) -> TrainSet:
    half, per_original = cod_budget(config)
    shots = sample(data, config.k, config.seed, cod=half)
    originals = list(shots.examples)
    items = [TrainItem(e.text, e.label, g, False, e.id) for g, e in enumerate(originals)]
    report: dict[str, Any] = {"originals": len(originals), "counterfactuals": 0}
    if config.cod and records is not None:
        if signals is None:
            raise DataError("counterfactuals need a teacher to label them")
        index = index_counterfactuals(records)
        chosen: list[tuple[int, Example, CounterfactualRecord]] = []
        missing = []
        for g, e in enumerate(originals):
            cands = index.get(e.id)
            if not cands:
                missing.append(e.id)
                continue
            chosen.extend((g, e, r) for r in cands[:per_original])
        if missing and config.missing_counterfactuals == "error":
            raise DataError(f"{len(missing)} of {len(originals)} originals have no counterfactual in {config.counterfactuals} (first: {missing[0]})")
        cf_texts = [r.counterfactual_text for _, _, r in chosen]
        teacher_cf = signals.predictions(cf_texts) if cf_texts else []
        teacher_orig = signals.predictions([e.text for _, e, _ in chosen]) if cf_texts else []
        mismatched = not_flipped = 0
        for (g, e, r), t_cf, t_orig in zip(chosen, teacher_cf, teacher_orig):
            mismatched += int(t_cf) != r.counterfactual_label
            not_flipped += int(t_cf) == int(t_orig)
            items.append(TrainItem(r.counterfactual_text, int(t_cf), g, True, e.id))
        report.update(
            cod_mode=config.cod_mode,
            counterfactuals=len(chosen),
            missing_counterfactuals=len(missing),
            cf_label_mismatches=mismatched,  # file label != this teacher's prediction (relabelled)
            cf_not_flipped=not_flipped,  # teacher predicts the same label for original and CF
        )
    return TrainSet(items=items, originals=originals, report=report)


def heldout_pairs(
    records: Sequence[CounterfactualRecord], data: TaskData, exclude_ids: set[str], limit: int = 1000
) -> list[tuple[str, str]]:
    """(original text, counterfactual text) for records whose original was not trained on."""
    texts = {e.id: e.text for split in (data.pool, data.validation, data.test) for e in split}
    pairs = []
    for r in records:
        if r.original_id in exclude_ids:
            continue
        original = r.original_text or texts.get(r.original_id)
        if original:
            pairs.append((original, r.counterfactual_text))
        if len(pairs) >= limit:
            break
    return pairs
