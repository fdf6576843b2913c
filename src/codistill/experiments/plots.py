"""Figures for a sweep (matplotlib, headless): accuracy vs k with CI bands, fidelity vs
accuracy, counterfactual quality. Each function writes one PNG and returns its path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from codistill.experiments.records import RunRecord
from codistill.experiments.stats import summarise


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in workers and CI
    import matplotlib.pyplot as plt

    return plt


def metric_vs_k(records: Iterable[RunRecord], task: str, metric: str, path: str | Path) -> Path:
    """One line per method (baseline dashed, +CoD solid) with bootstrap 95% CI bands."""
    plt = _pyplot()
    cells = [c for c in summarise(records, metric) if c.task == task]
    by_method: dict[str, list] = defaultdict(list)
    for c in cells:
        by_method[c.method].append(c)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    colours: dict[str, Any] = {}
    for method in sorted(by_method):
        pts = sorted(by_method[method], key=lambda c: c.k)
        colour = colours.setdefault(method, f"C{len(colours)}")  # CoD budget modes get their own colour
        ks = [c.k for c in pts]
        ax.plot(
            ks,
            [100 * c.mean for c in pts],
            marker="o",
            color=colour,
            linestyle="-" if "+cod" in method else "--",
            label=method,
        )
        ax.fill_between(ks, [100 * c.ci_low for c in pts], [100 * c.ci_high for c in pts], color=colour, alpha=0.15)
    ax.set_xscale("log", base=2)
    ks = sorted({c.k for c in cells})
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (labelled budget)")
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(f"{task}: {metric} vs k (95% bootstrap CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, plt, path)


def fidelity_vs_accuracy(
    records: Iterable[RunRecord], path: str | Path, fidelity: str = "agreement", accuracy: str = "accuracy"
) -> Path:
    """Each run as a point: teacher agreement (x) against test accuracy (y), coloured by method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        if fidelity in r.metrics and accuracy in r.metrics:
            groups[r.key.method].append(r)
    for i, (method, runs) in enumerate(sorted(groups.items())):
        ax.scatter(
            [100 * r.metrics[fidelity] for r in runs],
            [100 * r.metrics[accuracy] for r in runs],
            s=18,
            alpha=0.7,
            color=f"C{i}",
            label=method,
        )
    ax.set_xlabel(f"{fidelity} with teacher (%)")
    ax.set_ylabel(f"{accuracy} (%)")
    ax.set_title("fidelity vs accuracy (one point per run)")
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    return _save(fig, plt, path)


def counterfactual_quality(stats: dict[str, dict[str, float]], path: str | Path, keys: Sequence[str] = ()) -> Path:
    """Bars of counterfactual-set quality numbers (validity, edited words, ...) per set name."""
    plt = _pyplot()
    names = sorted(stats)
    keys = list(keys) or sorted({k for s in stats.values() for k, v in s.items() if isinstance(v, (int, float))})
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.2 * max(1, len(keys)), 3.2), dpi=110, squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.bar(range(len(names)), [stats[n].get(key, 0.0) for n in names], color="C2")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("counterfactual quality")
    return _save(fig, plt, path)


def _save(fig, plt, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
