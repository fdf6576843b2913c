"""Nested, class-balanced k-shot budgets for any number of classes.

For a seed, every class's pool examples are shuffled once and the classes are interleaved into a
single balanced ordering (k in total: as even over the C classes as k allows). ``sample(k)`` is its first k entries, and the CoD budget for the same
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
    """Round-robin over classes, each class in a seeded random order; a class that runs out drops
    out of later rounds. Two classes keep the order 0, 1, 0, 1, ... (runs of earlier versions
    reproduce); with more, each seed visits the classes in its own random order, so the classes
    that get the one extra example of a k not divisible by C change with the seed."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, ex in enumerate(pool):
        by_label[ex.label].append(i)
    shuffled = [np.random.default_rng([seed, lab]).permutation(by_label[lab]).tolist() for lab in range(num_labels)]
    classes = (
        list(range(num_labels))
        if num_labels <= 2
        else np.random.default_rng([seed, num_labels, 7]).permutation(num_labels).tolist()
    )
    order: list[Example] = []
    for rank in range(max((len(s) for s in shuffled), default=0)):
        order.extend(pool[shuffled[lab][rank]] for lab in classes if rank < len(shuffled[lab]))
    return order


def per_class_counts(k: int, class_sizes: Sequence[int]) -> list[int]:
    """How many examples of each class the first k of a :func:`balanced_order` hold (any seed):
    as even as the class sizes allow, differing by at most one between classes that have enough."""
    counts = [0] * len(class_sizes)
    left = k
    while left > 0:
        open_ = [c for c, size in enumerate(class_sizes) if counts[c] < size]
        if not open_:
            break
        for c in open_[:left]:
            counts[c] += 1
        left -= min(left, len(open_))
    return counts


def check_budget(k: int, num_labels: int, class_sizes: Sequence[int], names: Sequence[str]) -> None:
    """k in total over ``num_labels`` classes: every class at least once, and the counts of
    :func:`per_class_counts` within one of each other (a class too small to keep up is an error)."""
    if not isinstance(k, int) or isinstance(k, bool):
        raise BudgetError(f"k must be an integer, got {k!r}")
    if k < max(2, num_labels):
        raise BudgetError(
            f"k={k}: need at least {max(2, num_labels)} examples (one per class over {num_labels} classes)"
        )
    if num_labels == 2 and k % 2:
        raise BudgetError(f"k={k} cannot be split evenly over 2 classes; use an even k")
    per_class = -(-k // num_labels)  # the most any class gets
    for size, name in zip(class_sizes, names):
        if per_class > size:
            raise BudgetError(
                f"k={k} needs up to {per_class} examples per class but class {name!r} has only {size} in the pool"
            )


def k_for_per_class(k_per_class: int, num_labels: int) -> int:
    """The total budget of the per-class form (``--k-per-class 4`` with 6 classes: k=24)."""
    if not isinstance(k_per_class, int) or isinstance(k_per_class, bool) or k_per_class < 1:
        raise BudgetError(f"k per class must be a positive integer, got {k_per_class!r}")
    return k_per_class * num_labels


def check_cod_budget(k: int, num_labels: int) -> None:
    """The CoD half (k/2 originals) must hold every class, and for two classes be balanced (k=2
    would give one class, k=6 a 2:1 split); with more classes it is as even as k/2 allows."""
    if num_labels == 2 and (k // 2) % num_labels:
        raise BudgetError(
            f"k={k} with CoD keeps k/2={k // 2} originals, which cannot be split evenly over {num_labels} classes; "
            f"use a k divisible by {2 * num_labels}"
        )
    if k // 2 < num_labels:
        raise BudgetError(
            f"k={k} with CoD keeps k/2={k // 2} originals, fewer than the {num_labels} classes; "
            f"use k >= {2 * num_labels}"
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
