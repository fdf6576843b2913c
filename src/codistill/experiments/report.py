"""``codistill report``: tables (Markdown + CSV), figures and the HTML page for a results file."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codistill.errors import DataError
from codistill.experiments.classes import class_summary, classes_html, classes_markdown
from codistill.experiments.design import SECONDARY_TITLE, design_note, load_design, split_records
from codistill.experiments.html import render_report
from codistill.experiments.peer_table import peer_html, peer_markdown
from codistill.experiments.plots import counterfactual_quality, fidelity_vs_accuracy, metric_vs_k
from codistill.experiments.records import ResultStore, RunRecord
from codistill.experiments.stats import Correction
from codistill.experiments.tables import csv_table, markdown_table
from codistill.peers.methods import PEER_RECIPE, is_peer_recipe
from codistill.utils.io import atomic_write_text

REPORT_METRICS = (
    "accuracy",
    "mcc",
    "macro_f1",
    "agreement",
    # gold contrast pairs, when the sweep's task has a `contrast` file
    "contrast_accuracy_original",
    "contrast_accuracy_counterfactual",
    "contrast_consistency",
)
# explanation students (codistill explain-distill): what they write, judged by the task teacher
EXPLANATION_METRICS = ("cf_validity", "cf_self_consistency", "cf_parse_rate", "rationale_f1", "simulatability")


def headline_first(metrics: list[str], tasks: Sequence[str]) -> list[str]:
    """``metrics`` with the registered tasks' headline metrics first (macro-F1 for more than two classes, MCC for CoLA)."""
    from codistill.data.tasks import TASKS

    heads = [TASKS[t].primary_metric for t in tasks if t in TASKS]
    return sorted(metrics, key=lambda m: (m not in heads, heads.index(m) if m in heads else 0))


def secondary_tables(
    everything: Sequence[RunRecord],
    secondary: Sequence[RunRecord],
    metrics: Sequence[str],
    correction: Correction,
    md_parts: list[str],
) -> list[tuple[str, str]]:
    """The secondary analysis: every run, pre-set and added, in tables labelled as such (HTML
    sections returned, Markdown appended to ``md_parts``); nothing when no run was added."""
    from codistill.experiments.html import results_table

    if not secondary or not any(r.key.cod for r in everything):
        return []
    sections = []
    md_parts.append(f"\n## {SECONDARY_TITLE}\n\nEvery run, the {len(secondary)} added ones included.\n")
    for metric in metrics:
        md_parts.append(f"\n### {metric}\n\n{markdown_table(everything, metric, correction)}")
        sections.append((f"{metric}: {SECONDARY_TITLE}", results_table(everything, metric, correction)))
    return sections


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    csv: list[Path]
    figures: list[Path]


def write_report(
    results: str | Path,
    out_dir: str | Path,
    *,
    counterfactual_files: Sequence[str | Path] = (),
    sample_pairs: int = 25,
    seed: int = 0,
    title: str = "codistill sweep report",
    correction: Correction = "none",
) -> ReportFiles:
    store = ResultStore(results)
    everything = store.load()
    if not everything:
        raise DataError(f"{results}: no result records")
    design = load_design(Path(results).parent)
    records, secondary = split_records(everything, design)  # the pre-set design's runs are the result
    if not records:
        raise DataError(f"{results}: no record of the pre-set design ({design.describe() if design else ''})")
    out = Path(out_dir)
    present = {m for r in records for m in r.metrics}
    tasks = sorted({r.key.task for r in records})
    metrics = headline_first([m for m in REPORT_METRICS if m in present], tasks)

    md_parts = [
        f"# {title}\n",
        f"{len(records)} runs; tasks: {', '.join(tasks)}.\n",
        f"\n{design_note(design, secondary)}.\n",
    ]
    csv_paths = []
    # the baseline -> +CoD tables need CoD runs (explanation students have none; their tables are in the statistics)
    for metric in metrics if any(r.key.cod for r in records) else ():
        md_parts.append(f"\n## {metric}\n\n{markdown_table(records, metric, correction)}")
        csv_paths.append(atomic_write_text(out / f"table_{metric}.csv", csv_table(records, metric, correction)))
    peer_tables = []  # every method beside the teacher-free peer, when the sweep ran it
    for metric in metrics if any(is_peer_recipe(r.key.recipe) for r in records) else ():
        md_parts.append(f"\n## {metric}: every method vs {PEER_RECIPE}\n\n{peer_markdown(records, metric)}")
        peer_tables.append((f"{metric}: every method vs {PEER_RECIPE}", peer_html(records, metric)))

    peer_tables += secondary_tables(everything, secondary, metrics, correction, md_parts)

    figures: list[tuple[Path, str]] = []
    for task in tasks:
        for metric in headline_first([m for m in ("accuracy", "mcc", "macro_f1") if m in present], [task]):
            figures.append(
                (metric_vs_k(records, task, metric, out / f"{task}_{metric}_vs_k.png"), f"{task}: {metric} vs k")
            )
    if "agreement" in present and "accuracy" in present:
        figures.append((fidelity_vs_accuracy(records, out / "fidelity_vs_accuracy.png"), "fidelity vs accuracy"))
    cf_sets = {
        f"{r.key.task} s{r.key.seed}": {
            k: float(r.counterfactuals[k])
            for k in ("validity", "edited_words")
            if isinstance(r.counterfactuals.get(k), (int, float))
        }
        for r in records
        if r.key.cod and r.counterfactuals
    }
    if cf_sets:
        figures.append(
            (
                counterfactual_quality(cf_sets, out / "counterfactual_quality.png"),
                "counterfactual quality per (task, seed)",
            )
        )
    from codistill.experiments.anova import blocks_markdown, statistics_blocks

    stats = statistics_blocks(records, [m for m in (*REPORT_METRICS, *EXPLANATION_METRICS) if m in present])
    stats_md = blocks_markdown(stats)
    if stats_md:
        md_parts.append("\n## Statistics (methods x seeds x k)\n" + stats_md)
    class_rows = class_summary(records)
    md_parts.append(classes_markdown(class_rows))
    md_parts.append("\n## Figures\n\n" + "\n".join(f"![{c}]({p.name})" for p, c in figures) + "\n")

    pairs = []
    if counterfactual_files:
        from codistill.counterfactuals import read_counterfactuals

        pool = [r.to_dict() for f in counterfactual_files for r in read_counterfactuals(f)]
        pairs = random.Random(seed).sample(pool, min(sample_pairs, len(pool)))
    notes = [design_note(design, secondary)]
    if store.skipped_partial_lines:
        notes.append(f"skipped {store.skipped_partial_lines} partial record(s) from an interrupted run")
    page = render_report(
        records,
        title=title,
        metrics=metrics if any(r.key.cod for r in records) else [],
        figures=figures,
        pairs=pairs,
        notes=notes,
        correction=correction,
        statistics=stats,
        peer_tables=peer_tables,
        classes=classes_html(class_rows),
    )
    return ReportFiles(
        markdown=atomic_write_text(out / "report.md", "".join(md_parts)),
        html=atomic_write_text(out / "report.html", page),
        csv=csv_paths,
        figures=[p for p, _ in figures],
    )
