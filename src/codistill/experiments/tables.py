"""Tables shaped like the CoD paper's Table 1: rows task x method (baseline -> +CoD), columns k."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from codistill.experiments.records import RunRecord
from codistill.experiments.stats import compare_cod, summarise


def method_label(recipe: str, method: str) -> str:
    """``kd → +CoD`` for the paper budget, ``kd → +CoD-full`` / ``kd → +CoD-multi3`` for the others."""
    suffix = method[len(f"{recipe}+cod"):] if method.startswith(f"{recipe}+cod") else ""
    return f"{recipe} → +CoD{suffix}"


def grid(rows: list[dict]) -> tuple[list[int], list[tuple[str, str, list[dict | None]]]]:
    """Table layout shared by every renderer: the k columns, then one line per (task, recipe,
    CoD method) with its label and that line's row for each k (None where the cell is missing)."""
    ks = sorted({r["k"] for r in rows})
    lines = []
    for task, recipe, method in sorted({(r["task"], r["recipe"], r["method"]) for r in rows}):
        cells = {r["k"]: r for r in rows if (r["task"], r["recipe"], r["method"]) == (task, recipe, method)}
        lines.append((task, method_label(recipe, method), [cells.get(k) for k in ks]))
    return ks, lines


def table_rows(records: Iterable[RunRecord], metric: str) -> list[dict]:
    """One row per (task, recipe, k) with baseline and CoD mean ± std, gain, p-values, flag (metrics as fractions)."""
    records = list(records)
    summary = {(c.task, c.method, c.k): c for c in summarise(records, metric)}
    rows = []
    for cmp in compare_cod(records, metric):
        method = cmp.method or f"{cmp.recipe}+cod"
        base = summary[(cmp.task, cmp.recipe, cmp.k)]
        cod = summary[(cmp.task, method, cmp.k)]
        rows.append(
            {
                "task": cmp.task, "recipe": cmp.recipe, "k": cmp.k, "metric": metric, "method": method, "n_pairs": cmp.n_pairs,
                "baseline_mean": base.mean, "baseline_std": base.std, "cod_mean": cod.mean, "cod_std": cod.std,
                "gain": cmp.gain_mean, "gain_ci_low": cmp.ci_low, "gain_ci_high": cmp.ci_high,
                "t_pvalue": cmp.t_pvalue, "wilcoxon_pvalue": cmp.wilcoxon_pvalue, "significant": cmp.significant,
            }
        )
    return rows


def markdown_table(records: Iterable[RunRecord], metric: str) -> str:
    """``base ± std → cod ± std (+gain)`` per cell; ``*`` marks a significant gain (paired t, p < 0.05)."""
    rows = table_rows(records, metric)
    if not rows:
        return f"_no paired baseline/+CoD results for {metric}_\n"
    ks, table = grid(rows)
    lines = [f"| task | method ({metric}) | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
    for task, label, cells in table:
        rendered = [
            ""
            if r is None
            else f"{r['baseline_mean'] * 100:.1f}±{r['baseline_std'] * 100:.1f} → {r['cod_mean'] * 100:.1f}±{r['cod_std'] * 100:.1f} "
            f"({r['gain'] * 100:+.1f}{'*' if r['significant'] else ''})"
            for r in cells
        ]
        lines.append(f"| {task} | {label} | " + " | ".join(rendered) + " |")
    lines.append("")
    lines.append("`*`: gain significant (paired t-test across seeds, p < 0.05); mean ± std over seeds, in points.")
    return "\n".join(lines) + "\n"


def csv_table(records: Iterable[RunRecord], metric: str) -> str:
    rows = table_rows(records, metric)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
