"""Turn a :class:`DataConfig` into a :class:`TaskData`: load, clean, carve validation."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np

from codistill.data.config import DataConfig
from codistill.data.schema import Example, LabelResolver, TaskData
from codistill.data.sources import LocalFiles, RawSplits
from codistill.data.tasks import TaskSpec, get_task
from codistill.errors import DataError


def resolve_task(config: DataConfig) -> TaskSpec:
    """The registered task; for the ``local`` task the label names come from the config or,
    without them, from the label values of the files (see :func:`infer_label_names`)."""
    task = get_task(config.task)
    if config.label_names:
        if config.task != "local" and tuple(config.label_names) != task.label_names:
            raise DataError(f"label_names can only be set for the local task ({config.task} has {task.label_names})")
        task = dataclasses.replace(task, label_names=tuple(config.label_names))
    elif task.infer_labels and config.data_dir is not None and not config.label_map:
        files = _local_files(task, config)
        task = dataclasses.replace(task, label_names=infer_label_names(files.label_values(), str(files.train.parent)))
    if task.num_labels < 2:
        raise DataError(f"{task.name} has {task.num_labels} label; a classifier needs at least 2")
    return task


def infer_label_names(values: list, where: str) -> tuple[str, ...]:
    """Label names from a file's label values: integer ids 0..C-1 name themselves ("0", "1", ...);
    text labels (e.g. ``sadness``, ``joy``) are sorted alphabetically, index = label id."""
    ints = []
    for v in values:
        text = str(v).strip()
        if isinstance(v, bool) or not (
            isinstance(v, int) or text.lstrip("-").isdigit() or (isinstance(v, float) and v.is_integer())
        ):
            break
        ints.append(int(float(text)))
    else:
        if min(ints, default=0) < 0:
            raise DataError(f"{where}: label ids must be 0..C-1, found {min(ints)}; give label_map or label names")
        names = tuple(str(i) for i in range(max(ints, default=-1) + 1))
        return names if len(names) >= 2 else ("0", "1")
    names = tuple(sorted({str(v).strip() for v in values}, key=str.lower))
    if len(names) < 2:
        raise DataError(
            f"{where}: the files have only one label value ({names[0] if names else 'none'}); a classifier needs 2 or more"
        )
    return names


def _local_files(task: TaskSpec, config: DataConfig) -> LocalFiles:
    assert config.data_dir is not None  # callers check it
    return LocalFiles.from_directory(
        config.data_dir,
        text_columns=tuple(config.text_columns or task.text_columns),
        label_column=config.label_column or task.label_column,
    )


def load_raw(task: TaskSpec, config: DataConfig) -> RawSplits:
    if config.data_dir is not None:
        return _local_files(task, config).load(LabelResolver(task.label_names, config.label_map))
    if not task.sources:
        raise DataError(f"task {task.name!r} has no built-in source; pass --data-dir")
    name = config.source or task.default_source
    if name not in task.sources:
        raise DataError(f"task {task.name!r} has no source {name!r}; known: {', '.join(task.sources)}")
    return task.sources[name].load(task.label_names)


def load_task(config: DataConfig | None = None, /, **overrides) -> TaskData:
    """Load a task's pool, validation and test splits.

    The pool is cleaned (exact duplicate texts collapsed, texts with conflicting labels and texts
    that also occur in the test split removed), then a class-stratified validation split is
    carved from it with ``split_seed``; a source's own validation split is used when it has one.
    """
    config = (config or DataConfig()).with_overrides(overrides) if overrides else (config or DataConfig())
    if config.owned:  # the user's own files: no pool, no carve
        from codistill.data.owned import load_owned

        return load_owned(config)
    task = resolve_task(config)
    raw = load_raw(task, config)
    notes: list[str] = []
    test_texts = {e.text for e in raw.test}
    pool = _clean_pool(raw.train, test_texts, notes)
    if not pool and raw.train:  # say which rows went and why, not just "empty"
        raise DataError(
            f"{task.name}: no training row is left after cleaning the {len(raw.train)} in the train split: {'; '.join(notes)}"
        )
    if raw.validation is not None:
        pool_texts = {e.text for e in pool}
        validation = [e for e in _clean_pool(raw.validation, test_texts, notes) if e.text not in pool_texts]
    else:
        pool, validation = carve_validation(pool, task.num_labels, config, notes)
    for name, split in (("pool", pool), ("validation", validation), ("test", raw.test)):
        if not split:
            raise DataError(f"{task.name}: the {name} split is empty")
    present = {e.label for e in pool}
    if len(present) < task.num_labels:
        missing = [task.label_names[i] for i in range(task.num_labels) if i not in present]
        raise DataError(f"{task.name}: the training pool has no examples of {', '.join(missing)}")
    return TaskData(
        task=task, pool=pool, validation=validation, test=list(raw.test), source=raw.description, notes=notes
    )


def _clean_pool(examples: list[Example], test_texts: set[str], notes: list[str]) -> list[Example]:
    labels_by_text: dict[str, set[int]] = defaultdict(set)
    for ex in examples:
        labels_by_text[ex.text].add(ex.label)
    seen: set[str] = set()
    cleaned: list[Example] = []
    dupes = conflicts = leaked = 0
    for ex in examples:
        if len(labels_by_text[ex.text]) > 1:
            conflicts += 1
        elif ex.text in test_texts:
            leaked += 1
        elif ex.text in seen:
            dupes += 1
        else:
            seen.add(ex.text)
            cleaned.append(ex)
    for count, what in (
        (dupes, "exact duplicate texts"),
        (conflicts, "rows whose text has conflicting labels"),
        (leaked, "rows whose text is in the test split"),
    ):
        if count:
            notes.append(f"dropped {count} {what}")
    return cleaned


def validation_count(pool_size: int, config: DataConfig) -> int:
    size = config.validation_size
    wanted = int(round(size * pool_size)) if size < 1 else int(size)
    return max(1, min(wanted, int(pool_size * config.validation_max_fraction)))


def carve_validation(
    pool: list[Example], num_labels: int, config: DataConfig, notes: list[str]
) -> tuple[list[Example], list[Example]]:
    """Class-stratified, seeded carve; both halves keep the pool's original order."""
    n_val = validation_count(len(pool), config)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, ex in enumerate(pool):
        by_label[ex.label].append(i)
    chosen: set[int] = set()
    # largest-remainder allocation so the per-class counts add up to n_val exactly
    quotas = {lab: n_val * len(idx) / len(pool) for lab, idx in by_label.items()}
    alloc = {lab: int(q) for lab, q in quotas.items()}
    for lab in sorted(quotas, key=lambda lab: quotas[lab] - alloc[lab], reverse=True)[: n_val - sum(alloc.values())]:
        alloc[lab] += 1
    for lab, idx in sorted(by_label.items()):
        rng = np.random.default_rng([config.split_seed, lab])
        chosen.update(rng.permutation(idx)[: alloc[lab]].tolist())
    notes.append(f"validation: {n_val} examples carved from the pool (split_seed={config.split_seed})")
    return [e for i, e in enumerate(pool) if i not in chosen], [e for i, e in enumerate(pool) if i in chosen]
