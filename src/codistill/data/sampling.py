"""Nested, class-balanced k-shot budgets.

For a seed, every class's pool examples are shuffled once and the classes are interleaved into a
single balanced ordering. ``sample(k)`` is its first k entries, and the CoD budget for the same
(k, seed) is the first k/2 of the same ordering, so baseline and CoD sets are nested and budgets
at larger k contain those at smaller k.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codistill.data.schema import Example, TaskData
from codistill.errors import BudgetError


@dataclass(frozen=True)
class KShotSet:
    """A k-shot budget: ``examples`` are the originals to train on (k of them for the baseline,
    k/2 for CoD, whose other k/2 slots go to their counterfactuals)."""

    task: str
    k: int
    seed: int
    cod: bool
    examples: tuple[Example, ...]

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.examples]


def balanced_order(pool: Sequence[Example], num_labels: int, seed: int) -> list[Example]:
    """Round-robin over classes (label 0, 1, 0, 1, ...), each class in a seeded random order."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, ex in enumerate(pool):
        by_label[ex.label].append(i)
    shuffled = [np.random.default_rng([seed, lab]).permutation(by_label[lab]).tolist() for lab in range(num_labels)]
    order: list[Example] = []
    for rank in range(min(len(s) for s in shuffled)):
        order.extend(pool[s[rank]] for s in shuffled)
    return order


def check_budget(k: int, num_labels: int, class_sizes: Sequence[int], names: Sequence[str]) -> None:
    if not isinstance(k, int) or isinstance(k, bool):
        raise BudgetError(f"k must be an integer, got {k!r}")
    if k < 2:
        raise BudgetError(f"k={k}: need at least 2 examples (one per class)")
    if k % num_labels:
        raise BudgetError(f"k={k} cannot be split evenly over {num_labels} classes; use an even k")
    per_class = k // num_labels
    for size, name in zip(class_sizes, names):
        if per_class > size:
            raise BudgetError(f"k={k} needs {per_class} examples per class but class {name!r} has only {size} in the pool")


def check_cod_budget(k: int, num_labels: int) -> None:
    """The CoD half (k/2 originals) must be class-balanced too: k=2 would give one class, k=6 a 2:1 split."""
    if (k // 2) % num_labels:
        raise BudgetError(
            f"k={k} with CoD keeps k/2={k // 2} originals, which cannot be split evenly over {num_labels} classes; "
            f"use a k divisible by {2 * num_labels}"
        )


def sample(data: TaskData, k: int, seed: int, cod: bool = False) -> KShotSet:
    """k class-balanced originals; with ``cod=True`` the first k/2 of the same ordering (balanced
    when :func:`check_cod_budget` passes, which training runs check)."""
    sizes = [sum(1 for e in data.pool if e.label == lab) for lab in range(data.num_labels)]
    check_budget(k, data.num_labels, sizes, data.task.label_names)
    if seed not in data._orders:  # one ordering per seed serves every k, baseline and CoD
        data._orders[seed] = balanced_order(data.pool, data.num_labels, seed)
    order = data._orders[seed]
    n = k // 2 if cod else k
    return KShotSet(task=data.task.name, k=k, seed=seed, cod=cod, examples=tuple(order[:n]))
