"""A user's own texts: exactly these training texts, with optional test, validation and unlabeled ones.

The benchmark protocol draws k-shot sets from a pool and carves validation from it; here the
training texts *are* the budget (every one is trained on), validation and test exist only when
given, and unlabeled texts (the teacher labels them) may be added. Inputs are files (csv, tsv,
jsonl, parquet), ``datasets.Dataset`` objects, lists of row dicts, or a list of texts with a list
of labels. Label names come from the caller, else from the training labels themselves when they
are names (``"positive"``), else they are the ids (``"0"``, ``"1"``), which the run notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codistill.data.config import DataConfig
from codistill.data.readers import read_rows
from codistill.data.schema import Example, LabelResolver, TaskData
from codistill.data.sources import rows_to_examples
from codistill.data.tasks import TaskSpec
from codistill.errors import DataError

OWN_TASK = "own"


def _rows(
    source: Any, labels: Sequence[Any] | None, text_column: str, label_column: str, name: str
) -> list[tuple[str, dict]]:
    """(where, row) pairs of any accepted input."""
    if isinstance(source, (str, Path)):
        return list(read_rows(Path(source).expanduser()))
    rows = list(source)  # a datasets.Dataset iterates as dicts
    if labels is not None:
        if len(labels) != len(rows):
            raise DataError(f"{name}: {len(rows)} texts but {len(labels)} labels")
        rows = [{text_column: t, label_column: lab} for t, lab in zip(rows, labels)]
    elif rows and isinstance(rows[0], str):
        rows = [{text_column: t, label_column: None} for t in rows]
    return [(f"{name} row {i + 1}", dict(r)) for i, r in enumerate(rows)]


def infer_label_names(rows: Iterable[tuple[str, dict]], label_column: str) -> tuple[list[str], bool]:
    """(names, named?): the distinct label values when they are names (sorted), else ids 0..max."""
    values = [r[label_column] for _, r in rows if r.get(label_column) is not None]
    if not values:
        raise DataError("no labelled training texts")
    as_ids = [v for v in values if isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())]
    if len(as_ids) == len(values):
        return [str(i) for i in range(max(int(v) for v in values) + 1)], False
    return sorted({str(v) for v in values}), True


def _examples(
    rows: list[tuple[str, dict]], split: str, config: DataConfig, resolver: LabelResolver, labelled: bool
) -> list[Example]:
    text_columns = list(config.text_columns or ["text"])
    label_column = config.label_column or "label"
    if not labelled:
        rows = [
            (w, {**r, label_column: r.get(label_column) if r.get(label_column) is not None else 0}) for w, r in rows
        ]
    return rows_to_examples(rows, split, text_columns, label_column, resolver)


def load_owned(
    config: DataConfig,
    *,
    train: Any = None,
    labels: Sequence[Any] | None = None,
    test: Any = None,
    test_labels: Sequence[Any] | None = None,
    validation: Any = None,
    validation_labels: Sequence[Any] | None = None,
    unlabeled: Any = None,
) -> TaskData:
    """Own data from ``config``'s files (``train_file`` ...) or from in-memory inputs, which win."""
    text_column, label_column = (config.text_columns or ["text"])[0], config.label_column or "label"
    train_rows = _rows(train if train is not None else config.train_file, labels, text_column, label_column, "train")
    if not train_rows:
        raise DataError("the training texts are empty")
    notes: list[str] = []
    if config.label_names:
        names = list(config.label_names)
    else:
        names, named = infer_label_names(train_rows, label_column)
        if not named:
            notes.append(
                f"label names are the ids {', '.join(names)}: give names (label_names / --label-names) so prompts, "
                "editors and reports can use them"
            )
    resolver = LabelResolver(names, config.label_map)

    def split(source: Any, split_labels: Any, name: str, labelled: bool = True) -> list[Example]:
        if source is None:
            return []
        return _examples(_rows(source, split_labels, text_column, label_column, name), name, config, resolver, labelled)

    pool = _examples(train_rows, "train", config, resolver, True)
    present = {e.label for e in pool}
    missing = [names[i] for i in range(len(names)) if i not in present]
    if missing:
        notes.append(f"no training text of {', '.join(missing)}")
    spec = TaskSpec(
        name=config.task if config.task != "rotten_tomatoes" else OWN_TASK,
        description="the user's own texts",
        label_names=tuple(names),
        text_columns=(text_column,),
        label_column=label_column,
    )
    data = TaskData(
        task=spec,
        pool=pool,
        validation=split(
            validation if validation is not None else config.validation_file, validation_labels, "validation"
        ),
        test=split(test if test is not None else config.test_file, test_labels, "test"),
        source="own texts" + (f" ({config.train_file})" if config.train_file and train is None else ""),
        notes=notes,
    )
    data.unlabeled = split(
        unlabeled if unlabeled is not None else config.unlabeled_file, None, "unlabeled", labelled=False
    )
    return data
