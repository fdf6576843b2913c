"""Every method against the teacher-free peer (SetFit), side by side: rows task x method, columns k.

Each cell is the method's mean ± std over the seeds it shares with SetFit at that (task, k), and
its gain over SetFit with a paired t-test (same seed = same k-shot texts), Holm-adjusted over the
row's k cells. Shown by the report whenever a sweep ran the ``setfit`` peer.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from codistill.experiments.records import RunRecord
from codistill.experiments.stats import _std, holm, paired_tests
from codistill.peers.methods import PEER_RECIPE


@dataclass(frozen=True)
class PeerCell:
    task: str
    method: str
    k: int
    n_pairs: int
    mean: float
    std: float
    peer_mean: float
    gain: float
    pvalue: float  # paired t-test vs the peer, Holm-adjusted over the row (NaN: undefined)
    alpha: float = 0.05

    @property
    def mark(self) -> str:
        if math.isnan(self.pvalue) or self.pvalue >= self.alpha:
            return ""
        return "*" if self.gain > 0 else "†"


def peer_cells(records: Iterable[RunRecord], metric: str, peer: str = PEER_RECIPE) -> list[PeerCell]:
    """One cell per (task, method, k) where the peer ran; the peer's own row has gain 0, p NaN."""
    values: dict[tuple[str, int], dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if isinstance(r.metrics.get(metric), (int, float)):
            values[(r.key.task, r.key.k)][r.key.method][r.key.seed] = float(r.metrics[metric])
    rows: dict[tuple[str, str], list[PeerCell]] = defaultdict(list)
    for (task, k), methods in sorted(values.items()):
        base = methods.get(peer)
        if not base:
            continue
        for method, seeds_of in sorted(methods.items()):
            seeds = sorted(set(base) & set(seeds_of))
            if not seeds:
                continue
            a, b = np.array([base[s] for s in seeds]), np.array([seeds_of[s] for s in seeds])
            p = math.nan if method == peer else paired_tests(a, b)[0]
            rows[(task, method)].append(
                PeerCell(
                    task, method, k, len(seeds), float(b.mean()), _std(b), float(a.mean()), float((b - a).mean()), p
                )
            )
    out = []
    for cells in rows.values():
        adjusted = holm([c.pvalue for c in cells])
        out += [
            PeerCell(c.task, c.method, c.k, c.n_pairs, c.mean, c.std, c.peer_mean, c.gain, p)
            for c, p in zip(cells, adjusted)
        ]
    return out


def _layout(cells: list[PeerCell], peer: str) -> tuple[list[int], list[tuple[str, str, list[PeerCell | None]]]]:
    ks = sorted({c.k for c in cells})

    def order(tm: tuple[str, str]) -> tuple[str, bool, str]:
        return (tm[0], tm[1] != peer, tm[1])

    lines = []
    for task, method in sorted({(c.task, c.method) for c in cells}, key=order):
        by_k = {c.k: c for c in cells if (c.task, c.method) == (task, method)}
        lines.append((task, method, [by_k.get(k) for k in ks]))
    return ks, lines


def _cell_text(c: PeerCell | None, peer: str) -> str:
    if c is None:
        return ""
    text = f"{100 * c.mean:.1f}±{100 * c.std:.1f}"
    return text if c.method == peer else f"{text} ({100 * c.gain:+.1f}{c.mark})"


NOTE = (
    "mean ± std over the seeds shared with {peer}, in points; (gain over {peer}): `*` significant gain, `†` significant loss "
    "(paired t-test by seed, Holm-adjusted over the row's k, p < 0.05)."
)


def peer_markdown(records: Iterable[RunRecord], metric: str, peer: str = PEER_RECIPE) -> str:
    cells = peer_cells(records, metric, peer)
    if not cells:
        return f"_no {peer} runs for {metric}_\n"
    ks, lines = _layout(cells, peer)
    out = [f"| task | method ({metric}) | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|---|" + "---|" * len(ks)]
    out += [
        f"| {task} | {method} | " + " | ".join(_cell_text(c, peer) for c in row) + " |" for task, method, row in lines
    ]
    return "\n".join(out) + "\n\n" + NOTE.format(peer=peer) + "\n"


def peer_html(records: Iterable[RunRecord], metric: str, peer: str = PEER_RECIPE) -> str:
    cells = peer_cells(records, metric, peer)
    if not cells:
        return ""
    ks, lines = _layout(cells, peer)
    head = "".join(f"<th>k={k}</th>" for k in ks)
    body = []
    for task, method, row in lines:
        tds = "".join(
            f"<td class='{'sig' if c and c.mark == '*' else 'loss' if c and c.mark == '†' else 'ns'}'>{html.escape(_cell_text(c, peer))}</td>"
            for c in row
        )
        body.append(f"<tr><td class='l'>{html.escape(task)}</td><td class='l'>{html.escape(method)}</td>{tds}</tr>")
    note = html.escape(NOTE.format(peer=peer).replace("`", ""))
    return f"<table class='results peers' data-metric='{html.escape(metric)}'><tr><th>task</th><th>method</th>{head}</tr>{''.join(body)}</table><p class='ns'>{note}</p>"
