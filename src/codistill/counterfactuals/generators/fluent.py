"""Fluent edits for the editor: part-of-speech-consistent swaps and causal-LM choice among flips.

* ``pos_consistent`` -- a one-word swap keeps a part of speech the replaced word can have
  (WordNet readings from the Debian ``wordnet-base`` files the lexicon reads), so "can't
  recommend" never becomes "asset recommend".
* ``LMChooser`` -- an optional causal LM (``editor.lm``, e.g. the packaged SmolLM2-135M) scores
  the teacher-verified flips of each input, and ``editor.lm_weight * log(ppl(cf) / ppl(original))``
  joins the selection key, so among flips of one size the most natural one wins. Only verified
  flips are scored (a few per input), which keeps the cost bounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

ADJ = {"a", "s"}


def guess_pos(lex, word: str) -> str:
    """Dominant WordNet part of speech, else a suffix guess (unknown words are usually names or nouns)."""
    pos = lex.dominant_pos(word)
    if pos:
        return pos
    if word.endswith("ly"):
        return "r"
    if word.endswith(("ous", "ful", "ive", "able", "ible", "less", "ic", "al", "ish", "y")):
        return "a"
    return "n"


def _pos_set(lex: Any, word: str) -> set[str]:
    readings = {("a" if a.pos in ADJ else a.pos) for a in lex.analyse(word)}
    return readings or {guess_pos(lex, word)}


def pos_consistent(lex: Any, old: str, new: str) -> bool:
    """Whether ``new`` can take the part of speech of ``old`` (adverbs in -ly count as adjectives'
    forms, since the lexicon inflects "terrible" -> "terribly")."""
    old_l, new_l = old.lower(), new.lower()
    if not old_l[:1].isalpha() or not new_l[:1].isalpha():
        return True
    olds, news = _pos_set(lex, old_l), _pos_set(lex, new_l)
    if old_l.endswith("ly") or new_l.endswith("ly"):
        olds, news = olds | ({"a"} if "r" in olds else set()), news | ({"a"} if "r" in news else set())
    return bool(olds & news)


class LMChooser:
    """Perplexity penalties of verified flips under a causal LM (cached per text)."""

    def __init__(self, model: str, weight: float, *, scorer: Any = None) -> None:
        if scorer is None:
            from codistill.counterfactuals.fluency import CausalLMScorer

            scorer = CausalLMScorer(model)
        self.scorer = scorer
        self.name = model
        self.weight = weight
        self._ppl: dict[str, float] = {}
        self.texts_scored = 0

    def perplexities(self, texts: Sequence[str]) -> list[float]:
        todo = list(dict.fromkeys(t for t in texts if t not in self._ppl))
        if todo:
            self.texts_scored += len(todo)
            self._ppl.update(zip(todo, self.scorer.perplexities(todo)))
        return [self._ppl[t] for t in texts]

    def penalties(self, groups: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, float]]:
        """For each (original, flips): flip -> weight * log(ppl(flip) / ppl(original)), one batch for all."""
        self.perplexities([t for original, flips in groups if flips for t in (original, *flips)])
        out: list[dict[str, float]] = []
        for original, flips in groups:
            if not flips:
                out.append({})
                continue
            base = max(self._ppl[original], 1e-9)
            out.append({t: self.weight * math.log(max(self._ppl[t], 1e-9) / base) for t in flips})
        return out
