"""The typed records every stage passes along: examples, labels and a task's splits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from codistill.errors import DataError
from codistill.utils.hashing import StreamingHash


@dataclass(frozen=True)
class Example:
    """One labelled input. ``id`` is stable across runs (source split + row), so counterfactual
    files, caches and results can refer back to it."""

    id: str
    text: str
    label: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabelResolver:
    """Maps raw label values from a file or dataset to label ids, with clear errors.

    Accepts the label id itself (``1`` or ``"1"``), a label name (case-insensitive), or any key
    of an explicit ``label_map``. Values in ``drop`` are skipped (e.g. sentiment140's neutral 2).
    """

    def __init__(
        self,
        label_names: Sequence[str],
        label_map: dict[Any, int] | None = None,
        drop: Iterable[Any] = (),
    ) -> None:
        self.label_names = tuple(label_names)
        self._map: dict[str, int] = {}
        if label_map:
            for raw, idx in label_map.items():
                if not 0 <= int(idx) < len(self.label_names):
                    raise DataError(f"label_map sends {raw!r} to {idx}, outside 0..{len(self.label_names) - 1}")
                self._map[_norm(raw)] = int(idx)
        else:
            for idx, name in enumerate(self.label_names):
                self._map[_norm(idx)] = idx
                self._map[_norm(name)] = idx
        self._drop = {_norm(d) for d in drop}

    def expected(self) -> str:
        return ", ".join(sorted(self._map, key=lambda k: (len(k), k)))

    def resolve(self, raw: Any, where: str) -> int | None:
        """Label id for ``raw``; None when ``raw`` is in the drop set; DataError otherwise."""
        if raw is None or (isinstance(raw, float) and raw != raw):
            raise DataError(f"{where}: missing label")
        key = _norm(raw)
        if key in self._drop:
            return None
        try:
            return self._map[key]
        except KeyError:
            raise DataError(f"{where}: unknown label {raw!r}; expected one of: {self.expected()}") from None


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


def label_counts(examples: Iterable[Example], num_labels: int) -> list[int]:
    counts = Counter(e.label for e in examples)
    return [counts.get(i, 0) for i in range(num_labels)]


@dataclass
class TaskData:
    """A task's loaded splits.

    ``pool`` is the training pool minus ``validation``; k-shot sets and teacher training come
    from ``pool``, selection uses ``validation``, and ``test`` is only ever reported.
    """

    task: Any  # TaskSpec; typed loosely to avoid an import cycle
    pool: list[Example]
    validation: list[Example]
    test: list[Example]
    source: str
    notes: list[str] = field(default_factory=list)
    unlabeled: list[Example] = field(default_factory=list)  # texts without labels (own data): the teacher labels them
    _fingerprint: str | None = field(default=None, repr=False)
    _orders: dict[int, list[Example]] = field(default_factory=dict, repr=False)

    @property
    def num_labels(self) -> int:
        return len(self.task.label_names)

    @property
    def fingerprint(self) -> str:
        """Content hash of all three splits: a cache key that changes when any example does."""
        if self._fingerprint is None:
            h = StreamingHash()
            h.update(self.task.name, *self.task.label_names)
            for split_name, split in (("pool", self.pool), ("validation", self.validation), ("test", self.test)):
                h.update(split_name, len(split))
                for ex in split:
                    h.update(ex.id, ex.text, ex.label)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def split(self, name: str) -> list[Example]:
        try:
            return {"pool": self.pool, "train": self.pool, "validation": self.validation, "test": self.test}[name]
        except KeyError:
            raise DataError(f"unknown split {name!r}; expected pool, validation or test") from None

    def summary(self) -> dict[str, Any]:
        names = list(self.task.label_names)
        return {
            "task": self.task.name,
            "source": self.source,
            "label_names": names,
            "splits": {
                split: {"size": len(exs), "labels": dict(zip(names, label_counts(exs, len(names))))}
                for split, exs in (("pool", self.pool), ("validation", self.validation), ("test", self.test))
            },
            "fingerprint": self.fingerprint,
            "notes": list(self.notes),
        }
