"""Search helpers for long inputs (reviews): the editor's extensions beyond phrase-length texts.

A review that praises a film in five sentences is rarely flipped by one word, and a teacher that
reads only its first ``max_length`` tokens never sees an edit past them. So, for inputs of at
least ``editor.long_words`` words:

* visibility -- edits are proposed only inside the part of the text the teacher reads;
* stacking -- after the single edits have been measured, the edits that moved the teacher most
  towards the target are applied together, greedily, in stacks of growing size (different
  sentences and clauses add up), capped at ``editor.max_edit_fraction`` of the words;
* breadth -- more salient words get edits (``salient_words`` grows with length), and inputs
  still unflipped after ``max_rounds`` get ``editor.extra_rounds`` more.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

from codistill.counterfactuals.text import Edit, Token

#: markup left in scraped reviews ("<br /><br />"): never a word to edit
MARKUP = {"br", "nbsp", "quot", "amp", "gt", "lt"}


class _CandLike(Protocol):
    edits: tuple[Edit, ...]
    prior: float
    fluency: float
    ops: tuple[str, ...]
    focus: int


def visible_tokens(verifier: Any, texts: Sequence[str], tokens: Sequence[Sequence[Token]]) -> list[int]:
    """Per text, how many of its word tokens the teacher reads (all, when that cannot be told)."""
    out = [len(t) for t in tokens]
    tokenizer, max_length = getattr(verifier, "tokenizer", None), getattr(verifier, "max_length", None)
    if tokenizer is None or not max_length:
        return out
    try:
        enc = tokenizer(list(texts), truncation=True, max_length=int(max_length), return_offsets_mapping=True)
    except Exception:  # noqa: BLE001 - a tokenizer without offsets: no restriction
        return out
    for i, (offsets, toks) in enumerate(zip(enc["offset_mapping"], tokens)):
        ends = [e for a, e in offsets if e > a]
        if not ends or not toks:
            continue
        last = max(ends)
        if last >= toks[-1].end:
            continue  # nothing truncated
        out[i] = sum(1 for t in toks if t.start < last)
    return out


def stack_sizes(n_words: int, max_edits: int, max_fraction: float) -> list[int]:
    """Stack sizes worth one teacher check each: 2, 3, 4, 6, 8, ... up to the cap."""
    cap = max(max_edits, int(max_fraction * n_words))
    sizes, n = [], 2
    while n <= cap:
        sizes.append(n)
        n = n + 1 if n < 4 else n + 2
    if sizes and sizes[-1] != cap and cap > 2:
        sizes.append(cap)
    return sizes


def stacked(measured: Sequence[tuple[float, _CandLike]], sizes: Sequence[int], make) -> list:
    """Candidates that apply the best-measured edits together: for each size n, the first n
    non-overlapping edits taken greedily in order of measured gain (gain > 0 only).

    ``make(edits, prior, fluency, ops, focus)`` builds the editor's candidate type."""
    ranked = [c for g, c in sorted(measured, key=lambda gc: -gc[0]) if g > 0]
    edits: list[Edit] = []
    parts: list[_CandLike] = []
    for c in ranked:
        if any(x.overlaps(y) for x, y in itertools.product(c.edits, edits)):
            continue
        edits.extend(c.edits)
        parts.append(c)
        if len(edits) >= max(sizes, default=0):
            break
    out: list[Any] = []  # whatever ``make`` builds (the generator's candidate type)
    for n in sizes:
        take: list[Edit] = []
        used: list[_CandLike] = []
        for c in parts:
            if len(take) + len(c.edits) > n:
                break
            take.extend(c.edits)
            used.append(c)
        if len(take) >= 2 and (not out or len(out[-1].edits) < len(take)):
            out.append(
                make(
                    tuple(take),
                    sum(c.prior for c in used),
                    sum(c.fluency for c in used) / len(used),
                    tuple(op for c in used for op in c.ops),
                    used[0].focus,
                )
            )
    return out
