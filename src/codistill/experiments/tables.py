"""Tables shaped like the CoD paper's Table 1: rows task x method (baseline -> +CoD), columns k."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from codistill.experiments.records import RunRecord
from codistill.experiments.stats import Correction, compare_cod


def method_label(recipe: str, method: str) -> str:
    """``kd → +CoD`` for the paper budget, ``kd → +CoD-full`` / ``kd → +CoD-multi3`` for the others."""
    suffix = method[len(f"{recipe}+cod") :] if method.startswith(f"{recipe}+cod") else ""
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


P_LABELS = {"none": "paired t-test p", "holm": "paired t-test p, Holm-adjusted across the table's cells"}


def cod_rows(records: Iterable[RunRecord]) -> dict[tuple[str, str, int], tuple[float, float]]:
    """Mean (originals, counterfactuals) the +CoD runs of each (task, CoD method, k) trained on."""
    sums: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
    for r in records:
        if r.key.cod and "originals" in r.train_set:
            sums.setdefault((r.key.task, r.key.method, r.key.k), []).append(
                (int(r.train_set["originals"]), int(r.train_set.get("counterfactuals", 0)))
            )
    return {key: (sum(o for o, _ in v) / len(v), sum(c for _, c in v) / len(v)) for key, v in sums.items()}


def table_rows(records: Iterable[RunRecord], metric: str, correction: Correction = "none") -> list[dict]:
    """One row per (task, recipe, k): baseline and CoD mean ± std over the seeds the paired test
    used, gain, p-values, flags (metrics as fractions) and the CoD runs' training-set rows."""
    records = list(records)
    rows_of = cod_rows(records)
    rows = []
    for cmp in compare_cod(records, metric, correction=correction):
        method = cmp.method or f"{cmp.recipe}+cod"
        originals, counterfactuals = rows_of.get((cmp.task, method, cmp.k), (float("nan"), float("nan")))
        rows.append(
            {
                "task": cmp.task,
                "recipe": cmp.recipe,
                "k": cmp.k,
                "metric": metric,
                "method": method,
                "n_pairs": cmp.n_pairs,
                "baseline_mean": cmp.baseline_mean,
                "baseline_std": cmp.baseline_std,
                "cod_mean": cmp.cod_mean,
                "cod_std": cmp.cod_std,
                "gain": cmp.gain_mean,
                "gain_ci_low": cmp.ci_low,
                "gain_ci_high": cmp.ci_high,
                "t_pvalue": cmp.t_pvalue,
                "wilcoxon_pvalue": cmp.wilcoxon_pvalue,
                "correction": correction,
                "pvalue": cmp.pvalue,
                "significant": cmp.significant,
                "significant_loss": cmp.significant_loss,
                "cod_originals": originals,
                "cod_counterfactuals": counterfactuals,
            }
        )
    return rows


def mark(row: dict) -> str:
    """``*`` a significant gain, ``†`` a significant loss, nothing otherwise."""
    return "*" if row["significant"] else "†" if row["significant_loss"] else ""


def cod_rows_text(row: dict) -> str:
    """``4+4 rows``: the +CoD runs' originals + counterfactuals (means over seeds)."""
    o, c = row["cod_originals"], row["cod_counterfactuals"]
    if o != o:  # NaN: records from before training-set composition was recorded
        return ""
    fmt = lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"  # noqa: E731
    return f"{fmt(o)}+{fmt(c)} rows"


def markdown_table(records: Iterable[RunRecord], metric: str, correction: Correction = "none") -> str:
    """``base ± std → cod ± std (+gain*) [o+c rows]`` per cell; ``*``/``†`` a significant gain/loss."""
    rows = table_rows(records, metric, correction)
    if not rows:
        return f"_no paired baseline/+CoD results for {metric}_\n"
    ks, table = grid(rows)
    lines = [f"| task | method ({metric}) | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
    for task, label, cells in table:
        rendered = [
            ""
            if r is None
            else f"{r['baseline_mean'] * 100:.1f}±{r['baseline_std'] * 100:.1f} → {r['cod_mean'] * 100:.1f}±{r['cod_std'] * 100:.1f} "
            f"({r['gain'] * 100:+.1f}{mark(r)})" + (f" [{cod_rows_text(r)}]" if cod_rows_text(r) else "")
            for r in cells
        ]
        lines.append(f"| {task} | {label} | " + " | ".join(rendered) + " |")
    lines.append("")
    lines.append(
        f"`*`: significant gain, `†`: significant loss ({P_LABELS[correction]} < 0.05; NaN when the paired differences "
        "have no variance); mean ± std over the paired seeds, in points; [originals+counterfactuals the +CoD runs trained on]."
    )
    return "\n".join(lines) + "\n"


def csv_table(records: Iterable[RunRecord], metric: str, correction: Correction = "none") -> str:
    rows = table_rows(records, metric, correction)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def _cell_text(row: dict, *, seeds: bool) -> str:
    """``k=16 (+7.2 points, paired t-test p=0.012 over 3 seeds)`` (``seeds=False``: ``k=8 (+1.3, p=0.64)``)."""
    gain = f"{row['gain'] * 100:+.1f}"
    if row["pvalue"] != row["pvalue"]:  # NaN: one pair, or the same difference in every seed
        why = "one seed" if row["n_pairs"] < 2 else "the same difference in every seed"
        return f"k={row['k']} ({gain} points, {why})"
    if not seeds:
        return f"k={row['k']} ({gain}, {_p_text(row['pvalue'])})"
    return f"k={row['k']} ({gain} points, paired t-test {_p_text(row['pvalue'])} over {row['n_pairs']} seeds)"


def significance_lines(records: Iterable[RunRecord], metric: str, correction: Correction = "none") -> list[str]:
    """The table's verdict in plain words, one line per (task, recipe, CoD method): where the CoD
    side beats the baseline significantly, where it is significantly worse, and where the
    difference is not significant (or untestable), with the paired t-test p the ``*``/``†``
    marks of :func:`markdown_table` are judged on."""
    rows = table_rows(records, metric, correction)
    ks, table = grid(rows)
    tasks = {r["task"] for r in rows}
    lines = []
    for task, label, cells in table:
        present = [r for r in cells if r is not None]
        recipe, cod_suffix = label.split(" → +CoD")
        base, cod = recipe.upper(), f"{recipe.upper()}+CoD{cod_suffix}"
        wins = [r for r in present if r["significant"]]
        losses = [r for r in present if r["significant_loss"]]
        rest = [r for r in present if not (r["significant"] or r["significant_loss"])]
        tested = [r for r in rest if r["pvalue"] == r["pvalue"]]
        untested = [r for r in rest if r["pvalue"] != r["pvalue"]]
        parts = (
            [f"{cod} beats {base} significantly at " + ", ".join(_cell_text(r, seeds=True) for r in wins)]
            if wins
            else [f"{cod} does not beat {base} significantly at any k"]
        )
        if losses:
            parts.append(
                f"{cod} is significantly WORSE than {base} at " + ", ".join(_cell_text(r, seeds=True) for r in losses)
            )
        if tested:
            parts.append("not significant at " + ", ".join(_cell_text(r, seeds=False) for r in tested))
        if untested:
            parts.append("no test possible at " + ", ".join(_cell_text(r, seeds=False) for r in untested))
        where = f"{task}, " if len(tasks) > 1 else ""
        lines.append(f"{where}{metric}: " + "; ".join(parts) + ".")
    if correction == "holm" and rows:
        lines.append(f"(p-values Holm-adjusted across this table's {len(rows)} cells; significant means p < 0.05.)")
    return lines
