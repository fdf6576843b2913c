"""A self-contained HTML report: tables, the methods x seeds statistics, embedded PNG figures and
a browsable sample of counterfactual pairs. Every text that came from data or models is escaped (it is untrusted)."""

from __future__ import annotations

import base64
import difflib
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codistill.experiments.anova import StatBlock
from codistill.experiments.records import RunRecord
from codistill.experiments.stats import Correction
from codistill.experiments.tables import P_LABELS, cod_rows_text, grid, mark, table_rows

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l{text-align:left}caption{text-align:left;font-weight:600;padding:.3rem 0}
.sig{font-weight:600;color:#0a6b2d}.loss{font-weight:600;color:#b00020}.ns{color:#777}.rows{color:#555;font-size:.8rem}
figure{display:inline-block;margin:.5rem}img{max-width:34rem;border:1px solid #eee}
ins{background:#c9f7d4;text-decoration:none}del{background:#ffd6d6}
.pairs td{max-width:30rem}
"""


def word_diff(before: str, after: str) -> tuple[str, str]:
    """Both texts as escaped HTML with removed words in ``<del>`` and added words in ``<ins>``."""
    a, b = before.split(), after.split()
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        old = html.escape(" ".join(a[i1:i2]))
        new = html.escape(" ".join(b[j1:j2]))
        if op == "equal":
            left.append(old)
            right.append(new)
        else:
            if old:
                left.append(f"<del>{old}</del>")
            if new:
                right.append(f"<ins>{new}</ins>")
    return " ".join(left), " ".join(right)


def _fmt_prob(probs: Sequence[float] | None) -> str:
    return "" if not probs else " / ".join(f"{p:.2f}" for p in probs)


def results_table(records: Iterable[RunRecord], metric: str, correction: Correction = "none") -> str:
    rows = table_rows(records, metric, correction)
    if not rows:
        return f"<p>No paired baseline/+CoD results for {html.escape(metric)}.</p>"
    ks, table = grid(rows)
    head = "".join(f"<th>k={k}</th>" for k in ks)
    body = []
    for task, label, cells in table:
        tds = []
        for r in cells:
            if r is None:
                tds.append("<td></td>")
                continue
            cls = "sig" if r["significant"] else "loss" if r["significant_loss"] else "ns"
            rows_note = cod_rows_text(r)
            tds.append(
                f"<td>{100 * r['baseline_mean']:.1f}±{100 * r['baseline_std']:.1f} → {100 * r['cod_mean']:.1f}±{100 * r['cod_std']:.1f}"
                f"<br><span class='{cls}'>{100 * r['gain']:+.1f}{mark(r)} [{100 * r['gain_ci_low']:+.1f}, {100 * r['gain_ci_high']:+.1f}]"
                f" p={r['pvalue']:.3g}</span>"
                + (f"<br><span class='rows'>CoD: {rows_note}</span>" if rows_note else "")
                + "</td>"
            )
        body.append(
            f"<tr><td class='l'>{html.escape(task)}</td><td class='l'>{html.escape(label)}</td>{''.join(tds)}</tr>"
        )
    return (
        f"<table class='results' data-metric='{html.escape(metric)}'><tr><th>task</th><th>method</th>{head}</tr>{''.join(body)}</table>"
        f"<p class='ns'>mean ± std over the paired seeds → gain [bootstrap 95% CI], p = {html.escape(P_LABELS[correction])}; "
        "green *: significant gain, red †: significant loss (p &lt; 0.05; NaN: no variance in the paired differences); "
        "CoD: originals+counterfactuals the +CoD runs trained on.</p>"
    )


def pairs_table(pairs: Sequence[dict[str, Any]], label_names: Sequence[str] = ("negative", "positive")) -> str:
    """Counterfactual pairs: original, counterfactual (edit highlighted), teacher probabilities."""
    if not pairs:
        return "<p>No counterfactual pairs.</p>"
    rows = []
    for p in pairs:
        left, right = word_diff(str(p.get("original_text", "")), str(p.get("counterfactual_text", "")))
        label = p.get("counterfactual_label")
        name = label_names[label] if isinstance(label, int) and 0 <= label < len(label_names) else label
        rows.append(
            f"<tr><td class='l'>{html.escape(str(p.get('original_id', '')))}</td><td class='l'>{left}</td><td class='l'>{right}</td>"
            f"<td>{_fmt_prob(p.get('teacher_probs_original'))}</td><td>{_fmt_prob(p.get('teacher_probs_counterfactual'))}</td>"
            f"<td class='l'>{html.escape(str(name))}</td></tr>"
        )
    return (
        "<table class='pairs'><tr><th>id</th><th>original</th><th>counterfactual</th><th>teacher p before</th>"
        f"<th>teacher p after</th><th>new label</th></tr>{''.join(rows)}</table>"
    )


def statistics_html(blocks: Sequence[StatBlock]) -> str:
    """The methods x seeds statistics (:func:`codistill.experiments.anova.statistics_blocks`)."""
    parts = []
    for b in blocks:
        if b.kind == "heading":
            parts.append(f"<h3>{html.escape(b.text)}</h3>")
        elif b.kind == "note":
            parts.append(f"<p class='ns'>{html.escape(b.text)}</p>")
        else:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
            # left-align the first two columns (the names of the method and post-hoc tables)
            left = " class='l'"
            cells = (
                "".join(f"<td{left if i < 2 else ''}>{html.escape(c)}</td>" for i, c in enumerate(row))
                for row in b.rows
            )
            body = "".join(f"<tr>{c}</tr>" for c in cells)
            caption = f"<caption>{html.escape(b.text)}</caption>" if b.text else ""
            parts.append(f"<table class='stats {html.escape(b.name)}'>{caption}<tr>{head}</tr>{body}</table>")
    return "".join(parts)


def embed_png(path: str | Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}</figcaption></figure>"


def render_report(
    records: Sequence[RunRecord],
    *,
    title: str,
    metrics: Sequence[str],
    figures: Sequence[tuple[str | Path, str]] = (),
    pairs: Sequence[dict[str, Any]] = (),
    notes: Sequence[str] = (),
    correction: Correction = "none",
    statistics: Sequence[StatBlock] = (),
    peer_tables: Sequence[tuple[str, str]] = (),
    classes: str = "",
) -> str:
    """The page; ``classes`` is the per-class section's HTML (:func:`codistill.experiments.classes.classes_html`)."""
    sections = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        sections.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for metric in metrics:
        sections.append(f"<h2>{html.escape(metric)}</h2>{results_table(records, metric, correction)}")
    sections += [
        f"<h2>{html.escape(heading)}</h2>{table}" for heading, table in peer_tables
    ]  # (heading, rendered table)
    if statistics:
        sections.append(f"<h2>Statistics (methods x seeds x k)</h2>{statistics_html(statistics)}")
    if classes:
        sections.append(classes)
    if figures:
        sections.append("<h2>Figures</h2>" + "".join(embed_png(path, caption) for path, caption in figures))
    sections.append(f"<h2>Counterfactual pairs</h2>{pairs_table(pairs)}")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n"
    )
