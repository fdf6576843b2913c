"""The training set of one run: the k-shot originals plus, for CoD, their counterfactuals.

Counterfactuals are labelled by the *current* teacher (its prediction on the counterfactual
text, from the signal cache); the file's label is only checked against it, and disagreements
are counted in the run's report. A counterfactual attaches to an original when its id *and*
its ``original_text`` match; one that does not flip the teacher is dropped unless
``keep_non_flips`` is set. ``counterfactual_labels=flipped_gold`` instead labels every attached
counterfactual ``1 - gold label of its original`` and keeps it whatever the teacher says (the CoD
reference code's unverified labels, for comparison; binary tasks only). With ``cod`` on and a file given, no attached counterfactual is an error. Each original and its counterfactual form one group, which the
pair-aware sampler keeps in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codistill.counterfactuals.record import CounterfactualRecord
from codistill.data import TaskData, sample
from codistill.data.sampling import check_cod_budget
from codistill.data.schema import Example
from codistill.distill.config import DistillConfig
from codistill.distill.signals import TeacherSignals
from codistill.errors import ConfigError, DataError


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


def check_provenance(
    records: Sequence[CounterfactualRecord], task: str, signals: Any, path: str | None, *, allow: bool = False
) -> dict[str, list]:
    """What differs between the file's task/teacher and this run's: refused in one line unless ``allow``.

    Records without provenance (files written by hand or by older versions) are not checked."""
    run = {
        "task": task,
        "teacher_fingerprint": getattr(signals, "fingerprint", None),
        "teacher_max_length": getattr(signals, "max_length", None),
    }
    differs: dict[str, list] = {}
    for name, expected in run.items():
        found = sorted({str(v) for r in records if (v := getattr(r, name)) not in ("", None)})
        if expected is not None and found and found != [str(expected)]:
            differs[name] = [v for v in found if v != str(expected)]
    if differs and not allow:
        what = "; ".join(f"{k} {', '.join(v)} (this run: {run[k]})" for k, v in differs.items())
        raise DataError(
            f"{path}: counterfactuals made for another task or teacher: {what}; set reuse_counterfactuals=true to use them anyway"
        )
    return differs


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
    mode = config.budget_mode
    return mode.half, mode.per_original(config.cod_m)


def build_train_set(
    config: DistillConfig,
    data: TaskData,
    signals: TeacherSignals | None,
    records: Sequence[CounterfactualRecord] | None,
) -> TrainSet:
    gold_flip = config.cod and config.counterfactual_labels == "flipped_gold"
    if gold_flip and data.num_labels != 2:
        raise ConfigError(
            f"counterfactual_labels=flipped_gold labels a counterfactual 1 - gold, which needs a binary task; "
            f"{data.task.name} has {data.num_labels} labels (use counterfactual_labels=teacher)"
        )
    half, per_original = cod_budget(config)
    originals = choose_originals(config, data, half)
    items = [TrainItem(e.text, e.label, g, False, e.id) for g, e in enumerate(originals)]
    report: dict[str, Any] = {"originals": len(originals), "counterfactuals": 0, "texts": config.train_texts}
    if config.cod and records is not None:
        report.update(attach_counterfactuals(config, data, signals, records, originals, items, per_original, gold_flip))
    if data.unlabeled:
        report["unlabeled"] = add_unlabeled(data.unlabeled, signals, items)
    return TrainSet(items=items, originals=originals, report=report)


def choose_originals(config: DistillConfig, data: TaskData, half: bool) -> list[Example]:
    """Every training text (own data, ``train_texts=all``) or a k-shot draw from the pool."""
    if config.train_texts == "all":
        if half:
            raise ConfigError(
                "cod_mode=paper trains on k/2 sampled originals; with your own texts every one is trained on: "
                "use cod_mode full or multi"
            )
        return list(data.pool)
    if half:  # the paper's budget: k/2 originals, which must split evenly over the classes
        check_cod_budget(config.k, data.num_labels)
    return list(sample(data, config.k, config.seed, cod=half).examples)


def add_unlabeled(unlabeled: Sequence[Example], signals: TeacherSignals | None, items: list[TrainItem]) -> int:
    """Unlabeled texts join as their own groups, labelled by the teacher's prediction (KD targets are its logits)."""
    if signals is None:
        raise DataError("unlabeled texts need a teacher to label them")
    labels = signals.predictions([e.text for e in unlabeled])
    start = max((i.group for i in items), default=-1) + 1
    items.extend(
        TrainItem(e.text, int(lab), start + n, False, e.id) for n, (e, lab) in enumerate(zip(unlabeled, labels))
    )
    return len(unlabeled)


def attach_counterfactuals(
    config: DistillConfig,
    data: TaskData,
    signals: TeacherSignals | None,
    records: Sequence[CounterfactualRecord],
    originals: list[Example],
    items: list[TrainItem],
    per_original: int,
    gold_flip: bool,
) -> dict[str, Any]:
    """Append the verified counterfactuals of ``originals`` to ``items``; returns the report's part."""
    report: dict[str, Any] = {}
    if signals is None:
        raise DataError("counterfactuals need a teacher to label them")
    reused = check_provenance(
        records, data.task.name, signals, config.counterfactuals, allow=config.reuse_counterfactuals
    )
    if reused:
        report["counterfactuals_reused"] = reused  # on purpose (reuse_counterfactuals): the record says so
    index = index_counterfactuals(records)
    candidates: list[tuple[int, Example, CounterfactualRecord]] = []
    missing, text_mismatch = [], 0
    for g, e in enumerate(originals):
        cands = index.get(e.id, [])
        # the id must name this very text: a file from another task or data version may reuse ids
        same = [r for r in cands if not r.original_text or r.original_text == e.text]
        text_mismatch += bool(cands) and not same
        if not same:
            missing.append(e.id)
            continue
        candidates.extend((g, e, r) for r in same[:per_original])
    if missing and config.missing_counterfactuals == "error":
        raise DataError(
            f"{len(missing)} of {len(originals)} originals have no counterfactual in {config.counterfactuals} (first: {missing[0]})"
        )
    cf_texts = [r.counterfactual_text for _, _, r in candidates]
    teacher_cf: np.ndarray | list[int] = signals.predictions(cf_texts) if cf_texts else []
    teacher_orig: np.ndarray | list[int] = signals.predictions([e.text for _, e, _ in candidates]) if cf_texts else []
    keep_all = config.keep_non_flips or gold_flip  # flipped_gold: no teacher check at all
    mismatched = not_flipped = attached = teacher_disagrees = 0
    for (g, e, r), t_cf, t_orig in zip(candidates, teacher_cf, teacher_orig):
        mismatched += int(t_cf) != r.counterfactual_label
        flips = int(t_cf) != int(t_orig)
        not_flipped += not flips
        if flips or keep_all:
            label = 1 - e.label if gold_flip else int(t_cf)
            teacher_disagrees += label != int(t_cf)
            items.append(TrainItem(r.counterfactual_text, label, g, True, e.id))
            attached += 1
    dropped = {
        "no_counterfactual": len(missing) - text_mismatch,
        "original_text_differs": text_mismatch,
        "not_flipped": 0 if keep_all else not_flipped,
    }
    if not attached:
        raise DataError(
            f"cod is on but no counterfactual in {config.counterfactuals} attaches to the {len(originals)} originals "
            f"({', '.join(f'{v} {k.replace(chr(95), chr(32))}' for k, v in dropped.items())}); wrong task or teacher?"
        )
    report.update(
        cod_mode=config.cod_mode,
        counterfactuals=attached,
        missing_counterfactuals=len(missing),
        dropped=dropped,  # originals left without a counterfactual, by reason
        keep_non_flips=config.keep_non_flips,
        counterfactual_labels=config.counterfactual_labels,
        cf_labels_teacher_disagrees=teacher_disagrees,  # trained label != this teacher's prediction (flipped_gold only)
        cf_label_mismatches=mismatched,  # file label != this teacher's prediction (relabelled)
        cf_not_flipped=not_flipped,  # teacher predicts the same label for original and CF
    )
    return report


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
