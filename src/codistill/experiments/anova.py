"""Methods x seeds (x k) statistics with statsmodels, as explanation-distillation papers report them.

* :func:`method_anova`: a two-way ANOVA per task, ``value ~ C(method) + C(seed)`` (seeds as
  blocks: every method ran on the same nested k-shot budgets), with ``C(k)`` and ``C(method):C(k)``
  added when several k were run; type-II sums of squares and partial eta squared per effect.
* :func:`method_mixedlm`: the same as a linear mixed model with a random intercept per seed.
* :func:`posthoc`: paired comparisons of every pair of methods per k, paired over seeds (the
  runs of one seed at different k share a budget, so they are not independent pairs): mean
  difference, paired t-test, Holm-adjusted p-value over every (pair, k) test and Cohen's d_z;
  a constant difference has no t-test and no d_z (NaN, as in :mod:`codistill.experiments.stats`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from codistill.experiments.records import RunRecord
from codistill.experiments.stats import summarise


@dataclass(frozen=True)
class Effect:
    term: str
    df: float
    sum_sq: float
    f: float
    p: float
    partial_eta_sq: float


@dataclass(frozen=True)
class PairwiseComparison:
    task: str
    metric: str
    a: str
    b: str
    k: int
    n_pairs: int
    mean_diff: float  # a - b
    t_pvalue: float
    holm_pvalue: float
    cohens_dz: float


def _frame(records: Iterable[RunRecord], metric: str, task: str):
    import pandas as pd

    rows = [
        {"method": r.key.method, "seed": r.key.seed, "k": r.key.k, "value": float(r.metrics[metric])}
        for r in records
        if r.key.task == task
        and isinstance(r.metrics.get(metric), (int, float))
        and not math.isnan(float(r.metrics[metric]))
    ]
    return pd.DataFrame(rows, columns=["method", "seed", "k", "value"])


def _formula(df) -> str | None:
    if df["method"].nunique() < 2 or df["seed"].nunique() < 2:
        return None
    if df["k"].nunique() > 1:
        return "value ~ C(method) + C(seed) + C(k) + C(method):C(k)"
    return "value ~ C(method) + C(seed)"


def method_anova(records: Iterable[RunRecord], metric: str, task: str) -> list[Effect] | None:
    """Type-II ANOVA table (None with fewer than two methods or two seeds, or no residual df)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    df = _frame(records, metric, task)
    formula = _formula(df)
    if formula is None or df["value"].nunique() < 2:  # a constant metric has nothing to test
        return None
    model = smf.ols(formula, data=df).fit()
    if model.df_resid < 1:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = anova_lm(model, typ=2)
    resid = float(table.loc["Residual", "sum_sq"])
    out = []
    for term, row in table.iterrows():
        if term == "Residual":
            continue
        ss = float(row["sum_sq"])
        eta = ss / (ss + resid) if ss + resid > 0 else math.nan
        out.append(Effect(str(term), float(row["df"]), ss, float(row["F"]), float(row["PR(>F)"]), eta))
    return out


def method_mixedlm(records: Iterable[RunRecord], metric: str, task: str) -> dict[str, tuple[float, float]] | None:
    """Fixed effects ``{term: (coefficient, p-value)}`` of ``value ~ C(method) [* C(k)]`` with a
    random intercept per seed (None where it cannot be fitted)."""
    import warnings

    import statsmodels.formula.api as smf

    df = _frame(records, metric, task)
    if _formula(df) is None or df["value"].std() == 0:
        return None
    formula = "value ~ C(method) * C(k)" if df["k"].nunique() > 1 else "value ~ C(method)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.mixedlm(formula, df, groups=df["seed"]).fit()
        except (ValueError, np.linalg.LinAlgError):
            return None
    return {str(t): (float(fit.params[t]), float(fit.pvalues[t])) for t in fit.params.index if t != "Group Var"}


def posthoc(records: Iterable[RunRecord], metric: str, task: str) -> list[PairwiseComparison]:
    """Every pair of methods at every k, paired by seed, Holm-corrected over all (pair, k) tests."""
    from codistill.experiments.stats import holm, paired_tests

    df = _frame(records, metric, task)
    cells = {(m, k, s): v for m, k, s, v in zip(df["method"], df["k"], df["seed"], df["value"])}
    methods = sorted(df["method"].unique())
    raw = []
    for k in sorted({k for _, k, _ in cells}):
        for a, b in combinations(methods, 2):
            seeds = sorted(
                {s for m, kk, s in cells if m == a and kk == k} & {s for m, kk, s in cells if m == b and kk == k}
            )
            if len(seeds) < 2:
                continue
            x, y = np.array([cells[(a, k, s)] for s in seeds]), np.array([cells[(b, k, s)] for s in seeds])
            diff = x - y
            p, _ = paired_tests(y, x)  # NaN for a constant difference
            sd = diff.std(ddof=1)
            dz = math.nan if np.allclose(diff, diff[0]) else float(diff.mean() / sd)
            raw.append((a, b, int(k), len(seeds), float(diff.mean()), p, dz))
    adjusted = holm([r[5] for r in raw])
    return [
        PairwiseComparison(task, metric, a, b, k, n, d, p, float(h), dz)
        for (a, b, k, n, d, p, dz), h in zip(raw, adjusted)
    ]


@dataclass(frozen=True)
class StatBlock:
    """One piece of the statistics section, rendered to Markdown (:func:`statistics_markdown`) or
    HTML (:func:`codistill.experiments.html.statistics_html`): a heading, a note or a table."""

    kind: str  # "heading", "note" or "table"
    text: str  # heading, note, or the table's caption
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    name: str = ""  # a table's kind: methods, anova, mixed, posthoc


def method_table(records: Sequence[RunRecord], metric: str) -> StatBlock | None:
    """Mean ± std over seeds per (task, method) row and k column, in points."""
    cells = summarise(records, metric)
    if not cells:
        return None
    ks = sorted({c.k for c in cells})
    by = {(c.task, c.method, c.k): c for c in cells}
    rows = [
        (
            task,
            method,
            *(
                f"{by[(task, method, k)].mean * 100:.1f}±{by[(task, method, k)].std * 100:.1f} (n={by[(task, method, k)].n})"
                if (task, method, k) in by
                else ""
                for k in ks
            ),
        )
        for task, method in sorted({(c.task, c.method) for c in cells})
    ]
    return StatBlock("table", "", ("task", f"method ({metric})", *(f"k={k}" for k in ks)), tuple(rows), "methods")


def _p(p: float) -> str:
    return "nan" if math.isnan(p) else f"{p:.3g}" if p >= 1e-4 else "<1e-4"


def statistics_blocks(records: Sequence[RunRecord], metrics: Sequence[str]) -> list[StatBlock]:
    """The method tables, ANOVA, mixed model and post-hoc comparisons of every metric and task."""
    blocks: list[StatBlock] = []
    for task in sorted({r.key.task for r in records}):
        for metric in metrics:
            mine = [r for r in records if r.key.task == task and isinstance(r.metrics.get(metric), (int, float))]
            table = method_table(mine, metric)
            if table is None:
                continue
            blocks += [StatBlock("heading", f"{task}: {metric}"), table]
            effects = method_anova(records, metric, task)
            if effects is None:
                blocks.append(StatBlock("note", "No ANOVA: it needs two methods, two seeds and values that vary."))
                continue
            blocks.append(
                StatBlock(
                    "table",
                    "Two-way ANOVA (type II; seeds as blocks)",
                    ("effect", "df", "F", "p", "partial η²"),
                    tuple((e.term, f"{e.df:g}", f"{e.f:.2f}", _p(e.p), f"{e.partial_eta_sq:.3f}") for e in effects),
                    "anova",
                )
            )
            mixed = method_mixedlm(records, metric, task)
            if mixed:
                blocks.append(
                    StatBlock(
                        "table",
                        "Mixed model (random intercept per seed), fixed effects",
                        ("term", "coef", "p"),
                        tuple((t, f"{c * 100:+.2f} pts", _p(p)) for t, (c, p) in mixed.items()),
                        "mixed",
                    )
                )
            pairs = posthoc(records, metric, task)
            if pairs:
                blocks.append(
                    StatBlock(
                        "table",
                        "Post-hoc paired comparisons (per k, paired over seeds; Holm-corrected over pairs and k)",
                        ("a", "b", "k", "n", "a - b", "p", "p (Holm)", "d_z"),
                        tuple(
                            (
                                c.a,
                                c.b,
                                str(c.k),
                                str(c.n_pairs),
                                f"{c.mean_diff * 100:+.2f} pts",
                                _p(c.t_pvalue),
                                _p(c.holm_pvalue),
                                f"{c.cohens_dz:.2f}",
                            )
                            for c in pairs
                        ),
                        "posthoc",
                    )
                )
    return blocks


def statistics_markdown(records: Sequence[RunRecord], metrics: Sequence[str]) -> str:
    return blocks_markdown(statistics_blocks(records, metrics))


def blocks_markdown(blocks: Sequence[StatBlock]) -> str:
    """Statistics blocks as Markdown (headings, notes, pipe tables)."""
    parts = []
    for b in blocks:
        if b.kind == "heading":
            parts.append(f"\n### {b.text}\n")
        elif b.kind == "note":
            parts.append(f"\n_{b.text}_")
        else:
            lines = [
                f"| {' | '.join(b.header)} |",
                "|" + "---|" * len(b.header),
                *(f"| {' | '.join(r)} |" for r in b.rows),
            ]
            parts.append((f"\n{b.text}:\n\n" if b.text else "") + "\n".join(lines))
    return "\n".join(parts) + ("\n" if parts else "")
