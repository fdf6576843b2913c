"""Aggregation and significance tests for CoD gains across seeds.

For every (task, recipe, k) cell the baseline and +CoD runs are paired by seed (same nested
budget), and the gain is tested with a paired t-test and a Wilcoxon signed-rank test, with a
seeded percentile-bootstrap 95% confidence interval of the mean gain.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from codistill.experiments.records import RunRecord


@dataclass(frozen=True)
class CellSummary:
    task: str
    method: str
    k: int
    metric: str
    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class PairedComparison:
    task: str
    recipe: str
    k: int
    metric: str
    n_pairs: int
    baseline_mean: float
    cod_mean: float
    gain_mean: float
    gain_std: float
    ci_low: float
    ci_high: float
    t_pvalue: float
    wilcoxon_pvalue: float
    alpha: float = 0.05
    method: str = ""  # the CoD side's method name (kd+cod, kd+cod-full, kd+cod-multi3); "" = recipe+cod

    @property
    def significant(self) -> bool:
        """A positive gain whose paired t-test rejects at ``alpha``.

        The Wilcoxon p-value is reported beside it but not required: with n seeds its exact
        two-sided p-value cannot go below 2 / 2**n (0.0625 for the default 5 seeds).
        """
        return self.gain_mean > 0 and self.t_pvalue < self.alpha


def bootstrap_ci(values: np.ndarray, *, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (a point for a single value)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return (math.nan, math.nan)
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def summarise(records: Iterable[RunRecord], metric: str) -> list[CellSummary]:
    """Mean ± sample std and a bootstrap CI per (task, method, k)."""
    cells: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in records:
        if metric in r.metrics:
            cells[(r.key.task, r.key.method, r.key.k)].append(float(r.metrics[metric]))
    out = []
    for (task, method, k), vals in sorted(cells.items()):
        arr = np.array(vals)
        low, high = bootstrap_ci(arr)
        out.append(CellSummary(task, method, k, metric, float(arr.mean()), _std(arr), arr.size, low, high))
    return out


def paired_tests(baseline: np.ndarray, cod: np.ndarray) -> tuple[float, float]:
    """(paired t p-value, Wilcoxon p-value), two-sided; NaN where a test is undefined."""
    from scipy import stats

    diff = cod - baseline
    if diff.size < 2:
        return math.nan, math.nan
    if np.allclose(diff, diff[0]):
        # zero variance: t is undefined; identical pairs carry no evidence either way
        t_p = 0.0 if diff[0] != 0 else 1.0
    else:
        t_p = float(stats.ttest_rel(cod, baseline).pvalue)
    if np.all(diff == 0):
        w_p = 1.0
    else:
        w_p = float(stats.wilcoxon(cod, baseline, zero_method="wilcox", alternative="two-sided").pvalue)
    return t_p, w_p


def compare_cod(records: Iterable[RunRecord], metric: str, alpha: float = 0.05) -> list[PairedComparison]:
    """Baseline vs each CoD method (budget mode) per (task, recipe, k), paired by seed; seeds
    missing one side are left out."""
    by_cell: dict[tuple[str, str, int], dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if metric in r.metrics:
            by_cell[(r.key.task, r.key.recipe, r.key.k)][r.key.method][r.key.seed] = float(r.metrics[metric])
    out = []
    for (task, recipe, k), sides in sorted(by_cell.items()):
        baseline = sides.get(recipe, {})
        for method in sorted(m for m in sides if m != recipe):
            seeds = sorted(set(baseline) & set(sides[method]))
            if not seeds:
                continue
            base = np.array([baseline[s] for s in seeds])
            cod = np.array([sides[method][s] for s in seeds])
            diff = cod - base
            t_p, w_p = paired_tests(base, cod)
            low, high = bootstrap_ci(diff)
            out.append(
                PairedComparison(
                    task, recipe, k, metric, len(seeds), float(base.mean()), float(cod.mean()),
                    float(diff.mean()), _std(diff), low, high, t_p, w_p, alpha, method,
                )
            )
    return out
