"""Per-class results of a sweep: mean per-class recall and confusion matrices summed over seeds,
for the report (Markdown and HTML). Records carry them in ``RunRecord.classes`` (test split)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from codistill.experiments.records import RunRecord

Group = tuple[str, str, int]  # (task, method, k)


def _groups(records: Iterable[RunRecord]) -> dict[Group, list[RunRecord]]:
    groups: dict[Group, list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.classes.get("confusion_matrix"):
            groups[(r.key.task, r.key.method, r.key.k)].append(r)
    return dict(sorted(groups.items()))


def class_summary(records: Iterable[RunRecord]) -> list[dict]:
    """One row per (task, method, k): label names, seeds, mean per-class recall and the summed confusion matrix."""
    rows = []
    for (task, method, k), runs in _groups(records).items():
        cms = [np.asarray(r.classes["confusion_matrix"]) for r in runs]
        if len({cm.shape for cm in cms}) != 1:
            continue
        cm = np.sum(cms, axis=0)
        recalls = np.array(
            [[np.nan if v is None else v for v in r.classes.get("per_class_recall", [])] for r in runs], dtype=float
        )
        names = runs[0].classes.get("label_names") or [str(i) for i in range(len(cm))]
        mean = np.nanmean(recalls, axis=0) if recalls.size and not np.isnan(recalls).all() else np.full(len(cm), np.nan)
        rows.append(
            {
                "task": task,
                "method": method,
                "k": k,
                "seeds": len(runs),
                "label_names": list(names),
                "recall": [None if np.isnan(x) else float(x) for x in mean],
                "confusion_matrix": cm.tolist(),
            }
        )
    return rows


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def classes_markdown(rows: Sequence[dict]) -> str:
    if not rows:
        return ""
    out = []
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        names = mine[0]["label_names"]
        out.append(f"\n### {task}: recall per class (%, mean over seeds)\n")
        out.append("| method | k | seeds | " + " | ".join(names) + " |")
        out.append("|---|---:|---:|" + "---:|" * len(names))
        out += [
            f"| {r['method']} | {r['k']} | {r['seeds']} | " + " | ".join(_pct(x) for x in r["recall"]) + " |"
            for r in mine
        ]
        first = min(mine, key=lambda r: (r["k"], r["method"]))
        out.append(
            f"\nConfusion matrix of {first['method']} at k={first['k']} (rows gold, columns predicted; summed over seeds):\n"
        )
        out.append("| gold \\ predicted | " + " | ".join(names) + " |")
        out.append("|---|" + "---:|" * len(names))
        out += [
            f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |"
            for name, row in zip(names, first["confusion_matrix"])
        ]
    return "\n## Per-class results (test)\n" + "\n".join(out) + "\n"


def classes_html(rows: Sequence[dict]) -> str:
    if not rows:
        return ""
    e = html.escape
    parts = ["<h2>Per-class results (test)</h2>"]
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        names = mine[0]["label_names"]
        head = "".join(f"<th>{e(n)}</th>" for n in names)
        body = "".join(
            f"<tr><td class='l'>{e(r['method'])}</td><td>{r['k']}</td><td>{r['seeds']}</td>"
            + "".join(f"<td>{_pct(x)}</td>" for x in r["recall"])
            + "</tr>"
            for r in mine
        )
        parts.append(
            f"<table><caption>{e(task)}: recall per class (%, mean over seeds)</caption>"
            f"<tr><th>method</th><th>k</th><th>seeds</th>{head}</tr>{body}</table>"
        )
        for r in mine:
            cm = "".join(
                f"<tr><th>{e(n)}</th>" + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
                for n, row in zip(names, r["confusion_matrix"])
            )
            parts.append(
                f"<table><caption>{e(task)} {e(r['method'])} k={r['k']}: confusion matrix (rows gold, columns "
                f"predicted; {r['seeds']} seeds summed)</caption><tr><th></th>{head}</tr>{cm}</table>"
            )
    return "".join(parts)
