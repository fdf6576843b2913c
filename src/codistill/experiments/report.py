"""``codistill report``: tables (Markdown + CSV), figures and the HTML page for a results file."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codistill.errors import DataError
from codistill.experiments.classes import class_summary, classes_html, classes_markdown
from codistill.experiments.design import SECONDARY_TITLE, Design, design_note, load_design, split_records
from codistill.experiments.html import render_report
from codistill.experiments.peer_table import peer_html, peer_markdown
from codistill.experiments.plots import counterfactual_quality, fidelity_vs_accuracy, metric_vs_k
from codistill.experiments.records import ResultStore, RunRecord
from codistill.experiments.stats import DEFAULT_CORRECTION, Correction
from codistill.experiments.tables import csv_table, markdown_table
from codistill.peers.methods import PEER_RECIPE, is_peer_recipe
from codistill.utils.io import atomic_write_text

if TYPE_CHECKING:
    from codistill.experiments.anova import StatBlock

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


@dataclass
class ReportRuns:
    """A results file's runs: those of the pre-set design (the result), the added ones, and every one."""

    everything: list[RunRecord]
    records: list[RunRecord]
    secondary: list[RunRecord]
    design: Design | None
    skipped_partial_lines: int

    @property
    def tasks(self) -> list[str]:
        return sorted({r.key.task for r in self.records})

    @property
    def present(self) -> set[str]:
        """The metrics some run of the design has."""
        return {m for r in self.records for m in r.metrics}

    @property
    def has_cod(self) -> bool:
        """Whether the design has CoD runs (explanation students have none)."""
        return any(r.key.cod for r in self.records)


@dataclass
class ReportTables:
    """The report's tables: Markdown sections, the CSV files written, and the HTML sections of the
    peer and secondary tables."""

    markdown: list[str] = field(default_factory=list)
    csv: list[Path] = field(default_factory=list)
    html: list[tuple[str, str]] = field(default_factory=list)


Figure = tuple[Path, str]  # (image file, caption)


def write_report(
    results: str | Path,
    out_dir: str | Path,
    *,
    counterfactual_files: Sequence[str | Path] = (),
    sample_pairs: int = 25,
    seed: int = 0,
    title: str = "codistill sweep report",
    correction: Correction = DEFAULT_CORRECTION,
) -> ReportFiles:
    """Tables (Markdown + CSV), figures, statistics and the HTML page of a results file's pre-set design."""
    from codistill.experiments.anova import statistics_blocks

    runs = load_runs(results)
    out = Path(out_dir)
    metrics = headline_first([m for m in REPORT_METRICS if m in runs.present], runs.tasks)
    tables = result_tables(runs, metrics, correction, out)
    figures = report_figures(runs, out)
    stats = statistics_blocks(runs.records, [m for m in (*REPORT_METRICS, *EXPLANATION_METRICS) if m in runs.present])
    class_rows = class_summary(runs.records)
    page = render_report(
        runs.records,
        title=title,
        metrics=metrics if runs.has_cod else [],
        figures=figures,
        pairs=pick_pairs(counterfactual_files, sample_pairs, seed),
        notes=report_notes(runs),
        correction=correction,
        statistics=stats,
        peer_tables=tables.html,
        classes=classes_html(class_rows),
    )
    return ReportFiles(
        markdown=atomic_write_text(
            out / "report.md", report_markdown(title, runs, tables, stats, classes_markdown(class_rows), figures)
        ),
        html=atomic_write_text(out / "report.html", page),
        csv=tables.csv,
        figures=[p for p, _ in figures],
    )


def load_runs(results: str | Path) -> ReportRuns:
    """The runs of a results file, split by the design recorded beside it; a file without runs, or
    without a run of its design, is a one-line error."""
    store = ResultStore(results)
    everything = store.load()
    if not everything:
        raise DataError(f"{results}: no result records")
    design = load_design(Path(results).parent)
    records, secondary = split_records(everything, design)  # the pre-set design's runs are the result
    if not records:
        raise DataError(f"{results}: no record of the pre-set design ({design.describe() if design else ''})")
    return ReportRuns(everything, records, secondary, design, store.skipped_partial_lines)


def result_tables(runs: ReportRuns, metrics: Sequence[str], correction: Correction, out: Path) -> ReportTables:
    """Per metric: the baseline -> +CoD table (Markdown and a CSV file) when the design has CoD
    runs, every method against the teacher-free peer when the sweep ran it, then the secondary tables."""
    tables = ReportTables()
    records = runs.records
    for metric in metrics if runs.has_cod else ():
        tables.markdown.append(f"\n## {metric}\n\n{markdown_table(records, metric, correction)}")
        tables.csv.append(atomic_write_text(out / f"table_{metric}.csv", csv_table(records, metric, correction)))
    for metric in metrics if any(is_peer_recipe(r.key.recipe) for r in records) else ():
        tables.markdown.append(f"\n## {metric}: every method vs {PEER_RECIPE}\n\n{peer_markdown(records, metric)}")
        tables.html.append((f"{metric}: every method vs {PEER_RECIPE}", peer_html(records, metric)))
    tables.html += secondary_tables(runs.everything, runs.secondary, metrics, correction, tables.markdown)
    return tables


def report_figures(runs: ReportRuns, out: Path) -> list[Figure]:
    """Each task's headline metrics against k, fidelity against accuracy, and the counterfactual
    quality of each (task, seed), as far as the runs have them."""
    records, present = runs.records, runs.present
    figures: list[Figure] = []
    for task in runs.tasks:
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
    return figures


def pick_pairs(counterfactual_files: Sequence[str | Path], n: int, seed: int) -> list[dict]:
    """``n`` counterfactual pairs drawn with ``seed`` from the given files, for the page."""
    if not counterfactual_files:
        return []
    from codistill.counterfactuals import read_counterfactuals

    pool = [r.to_dict() for f in counterfactual_files for r in read_counterfactuals(f)]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def report_notes(runs: ReportRuns) -> list[str]:
    """The page's notes: the design and any partial record an interrupted run left."""
    notes = [design_note(runs.design, runs.secondary)]
    if runs.skipped_partial_lines:
        notes.append(f"skipped {runs.skipped_partial_lines} partial record(s) from an interrupted run")
    return notes


def report_markdown(
    title: str,
    runs: ReportRuns,
    tables: ReportTables,
    stats: Sequence[StatBlock],
    classes_md: str,
    figures: Sequence[Figure],
) -> str:
    """``report.md``: the header, the tables, the statistics, the per-class summary and the figures."""
    from codistill.experiments.anova import blocks_markdown

    parts = [
        f"# {title}\n",
        f"{len(runs.records)} runs; tasks: {', '.join(runs.tasks)}.\n",
        f"\n{design_note(runs.design, runs.secondary)}.\n",
        *tables.markdown,
    ]
    stats_md = blocks_markdown(stats)
    if stats_md:
        parts.append("\n## Statistics (methods x seeds x k)\n" + stats_md)
    parts.append(classes_md)
    parts.append("\n## Figures\n\n" + "\n".join(f"![{c}]({p.name})" for p, c in figures) + "\n")
    return "".join(parts)
