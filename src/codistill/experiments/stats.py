"""Aggregation and significance tests for CoD gains across seeds.

For every (task, recipe, k) cell the baseline and +CoD runs are paired by seed (same nested
budget), and the gain is tested with a paired t-test and a Wilcoxon signed-rank test, with a
seeded percentile-bootstrap 95% confidence interval of the mean gain. Means and stds reported
beside a test are over the same paired seeds the test used. ``holm`` adjusts a family of
p-values (a table's cells) for multiple comparisons.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from codistill.experiments.records import RunRecord

#: multiple-comparison correction of the paired tests
Correction = Literal["none", "holm"]
#: what reports and the sweep console show unless told otherwise: Holm over a table's cells, so a
#: `*` never rests on one of several uncorrected tests
DEFAULT_CORRECTION: Correction = "holm"


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
    baseline_std: float
    cod_std: float
    gain_mean: float
    gain_std: float
    ci_low: float
    ci_high: float
    t_pvalue: float
    wilcoxon_pvalue: float
    alpha: float = 0.05
    t_pvalue_holm: float | None = None  # set by :func:`compare_cod` with ``correction="holm"``
    method: str = ""  # the CoD side's method name (kd+cod, kd+cod-full, kd+cod-multi3); "" = recipe+cod

    @property
    def pvalue(self) -> float:
        """The p-value significance is judged on: Holm-adjusted when computed, else the raw t-test."""
        return self.t_pvalue if self.t_pvalue_holm is None else self.t_pvalue_holm

    def _rejects(self) -> bool:
        # NaN (zero-variance differences, a single pair) never rejects
        return not math.isnan(self.pvalue) and self.pvalue < self.alpha

    @property
    def significant(self) -> bool:
        """A positive gain whose paired t-test rejects at ``alpha``.

        The Wilcoxon p-value is reported beside it but not required: with n seeds its exact
        two-sided p-value cannot go below 2 / 2**n (0.0625 for the default 5 seeds).
        """
        return self.gain_mean > 0 and self._rejects()

    @property
    def significant_loss(self) -> bool:
        """A negative gain (CoD hurts) whose paired t-test rejects at ``alpha``."""
        return self.gain_mean < 0 and self._rejects()


def bootstrap_ci(
    values: np.ndarray, *, level: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
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
        # zero variance: t is undefined (a constant gain over few seeds is not evidence of p = 0)
        t_p = math.nan
    else:
        t_p = float(stats.ttest_rel(cod, baseline).pvalue)
    if np.all(diff == 0):
        w_p = math.nan  # every pair tied: the signed-rank test has nothing to rank
    else:
        w_p = float(stats.wilcoxon(cod, baseline, zero_method="wilcox", alternative="two-sided").pvalue)
    return t_p, w_p


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted in the family)."""
    valid = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    order = sorted(valid, key=lambda i: pvalues[i])
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare_cod(
    records: Iterable[RunRecord], metric: str, alpha: float = 0.05, correction: Correction = "none"
) -> list[PairedComparison]:
    """Baseline vs each CoD method (budget mode) per (task, recipe, k), paired by seed; seeds
    missing one side are left out.

    ``correction="holm"`` adjusts the t-test p-values across all returned cells (one family)."""
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
                    task,
                    recipe,
                    k,
                    metric,
                    len(seeds),
                    float(base.mean()),
                    float(cod.mean()),
                    _std(base),
                    _std(cod),
                    float(diff.mean()),
                    _std(diff),
                    low,
                    high,
                    t_p,
                    w_p,
                    alpha,
                    method=method,
                )
            )
    if correction == "holm":
        adjusted = holm([c.t_pvalue for c in out])
        out = [replace(c, t_pvalue_holm=p) for c, p in zip(out, adjusted)]
    elif correction != "none":
        raise ValueError(f"unknown correction {correction!r} (none, holm)")
    return out
