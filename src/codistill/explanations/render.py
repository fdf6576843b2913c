"""Explanations as short texts a student can learn to write, and back.

* rationale: ``negative: "dull", "lifeless"`` (the label, then the evidence);
* counterfactual: ``"a dull film" -> "a vivid film" would be positive`` -- the edited words with
  one word of context, so the target stays short; :func:`parse_counterfactual` applies it back to
  the original to get the full counterfactual text the task teacher can check.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence

from codistill.counterfactuals.text import tokenize, words

_CF = re.compile(r'"(?P<old>[^"]*)"\s*->\s*"(?P<new>[^"]*)"\s*would be\s*(?P<label>[\w-]+)', re.IGNORECASE)


def render_rationale(label_name: str, evidence: Sequence[str]) -> str:
    return f"{label_name}: " + ", ".join(f'"{w}"' for w in evidence)


def render_counterfactual(original: str, counterfactual: str, target_name: str, context: int = 1) -> str:
    """The smallest span of ``original`` that differs, widened by ``context`` words each side."""
    a, b = tokenize(original), tokenize(counterfactual)
    ops = [
        op
        for op in difflib.SequenceMatcher(a=[t.lower for t in a], b=[t.lower for t in b], autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    if not ops or not a or not b:
        return f'"{original}" -> "{counterfactual}" would be {target_name}'
    i1, i2 = max(0, ops[0][1] - context), min(len(a), ops[-1][2] + context)
    j1, j2 = max(0, ops[0][3] - context), min(len(b), ops[-1][4] + context)
    old = original[a[i1].start : a[i2 - 1].end] if i2 > i1 else ""
    new = counterfactual[b[j1].start : b[j2 - 1].end] if j2 > j1 else ""
    return f'"{old}" -> "{new}" would be {target_name}'


def parse_counterfactual(explanation: str, original: str) -> tuple[str, str] | None:
    """(full counterfactual text, claimed label name), or None when the explanation is not of the
    form ``"old" -> "new" would be label`` or ``old`` does not occur in ``original``."""
    m = _CF.search(explanation)
    if not m:
        return None
    old, new = m.group("old"), m.group("new")
    if old == new:
        return None
    if not old:
        return None
    at = original.find(old)
    if at < 0:
        at = original.lower().find(old.lower())
        if at < 0:
            return None
    return original[:at] + new + original[at + len(old) :], m.group("label").lower()


def rationale_evidence(rationale: str, label_names: Sequence[str]) -> str:
    """The rationale without its label words, so a reader must decide from the evidence alone."""
    names = {n.lower() for n in label_names}
    head, sep, rest = rationale.partition(":")
    body = rest if sep and head.strip().lower() in names else rationale
    return " ".join(w for w in re.findall(r"[\w'-]+", body) if w.lower() not in names)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-words F1 over lower-cased word tokens."""
    p, r = words(prediction), words(reference)
    p = [w for w in p if re.match(r"\w", w)]
    r = [w for w in r if re.match(r"\w", w)]
    if not p and not r:
        return 1.0
    common = sum((Counter(p) & Counter(r)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)
