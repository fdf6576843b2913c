"""Several diverse verified counterfactuals per original (``per_original > 1``, CoD ``multi``).

Diverse means: edits at different word positions of the original, or else different new
words. Among the verified flips, ranked by the same rule as the single winner, the winner comes
first; then flips whose edited positions are disjoint from every one already taken; then, if
still short, flips that put in words none of the taken ones did.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from codistill.counterfactuals.text import words


def edit_signature(original: str, text: str) -> tuple[frozenset[int], frozenset[str]]:
    """(positions of the original's words that the edit touches, the words it puts in).
    An insertion touches the position it is inserted before."""
    a, b = [w.lower() for w in words(original)], [w.lower() for w in words(text)]
    positions: set[int] = set()
    added: set[str] = set()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        positions.update(range(i1, i2) if i2 > i1 else (i1,))
        added.update(b[j1:j2])
    return frozenset(positions), frozenset(added)


def pick_diverse(original: str, ranked: Sequence[str], m: int) -> list[str]:
    """Up to ``m`` texts from ``ranked`` (best first): the best, then position-disjoint ones,
    then ones with new words (each pass in rank order)."""
    if m <= 0 or not ranked:
        return []
    sigs = {t: edit_signature(original, t) for t in ranked}
    taken = [ranked[0]]
    for t in ranked[1:]:
        if len(taken) >= m:
            break
        if all(not (sigs[t][0] & sigs[u][0]) for u in taken):
            taken.append(t)
    for t in ranked[1:]:
        if len(taken) >= m:
            break
        if (
            t not in taken
            and sigs[t][1]
            and all(sigs[t][1] != sigs[u][1] and not sigs[t][1] <= sigs[u][1] for u in taken)
        ):
            taken.append(t)
    return taken


def diverse_count(original: str, texts: Sequence[str], m: int) -> int:
    """How many diverse counterfactuals ``texts`` hold (at most ``m``; order as given)."""
    return len(pick_diverse(original, list(texts), m))
