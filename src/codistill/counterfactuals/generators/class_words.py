"""Teacher-guided substitutions mined from the task's own pool (the editor on any task).

The teacher labels a sample of the pool; a word is tied to a class when it is frequent in the
texts the teacher assigns to that class and rare in the others, scored by the z-scored log-odds
ratio with a uniform Dirichlet prior (Monroe, Colaresi & Quinn 2008) over document frequencies.
:class:`MinedEdits` proposes, for the words most tied to an input's current class (or most
salient to the teacher), swaps to the words most tied to the target class, their deletion, and
insertions of target-class words; the teacher verifies every candidate as usual. No lexicon of
any kind is assumed, so this works for question types, topics, intents and emotions alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from codistill.counterfactuals.text import Edit, tokenize

if TYPE_CHECKING:
    from codistill.counterfactuals.config import CounterfactualConfig, EditorConfig
    from codistill.counterfactuals.generators.editor_state import State

_WORD = re.compile(r"^[a-z0-9][a-z0-9'-]*$")


class ClassWords:
    """Per-class log-odds z-scores of words, from texts and the teacher's labels for them."""

    def __init__(
        self, texts: Sequence[str], labels: Sequence[int], num_labels: int, *, prior: float = 0.5, min_count: int = 2
    ) -> None:
        docs = [{t.lower for t in tokenize(text) if _WORD.match(t.lower)} for text in texts]
        vocab = sorted({w for d in docs for w in d})
        index = {w: i for i, w in enumerate(vocab)}
        counts = np.zeros((num_labels, len(vocab)))
        for d, lab in zip(docs, labels):
            for w in d:
                counts[int(lab), index[w]] += 1
        total = counts.sum(axis=0)
        a, a0 = prior, prior * len(vocab)
        n = counts.sum(axis=1, keepdims=True)
        rest, n_rest = total - counts, n.sum() - n
        delta = np.log((counts + a) / (n + a0 - counts - a)) - np.log((rest + a) / (n_rest + a0 - rest - a))
        self.z = delta / np.sqrt(1 / (counts + a) + 1 / (rest + a))
        self.z[:, total < min_count] = 0.0
        self.counts, self.vocab, self.index = counts, vocab, index
        self.min_count = min_count

    def score(self, word: str, label: int) -> float:
        i = self.index.get(word.lower())
        return 0.0 if i is None else float(self.z[label, i])

    def top(self, label: int, n: int) -> list[tuple[str, float]]:
        """The ``n`` words most tied to ``label`` (positive z, seen there at least ``min_count`` times)."""
        order = np.argsort(-self.z[label], kind="stable")
        out = [
            (self.vocab[i], float(self.z[label, i]))
            for i in order[: 4 * n + 16]
            if self.z[label, i] > 0 and self.counts[label, i] >= self.min_count
        ]
        return out[:n]


def mine_class_words(texts: Sequence[str], verifier, num_labels: int, limit: int, seed: int = 0) -> ClassWords | None:
    """:class:`ClassWords` from at most ``limit`` pool texts (a seeded sample) labelled by the teacher."""
    if limit <= 0 or not texts:
        return None
    texts = list(texts)
    if len(texts) > limit:
        texts = [texts[i] for i in sorted(np.random.default_rng(seed).choice(len(texts), limit, replace=False))]
    labels = np.asarray(verifier.probs(texts)).argmax(axis=1)
    return ClassWords(texts, labels.tolist(), num_labels)


class MinedEdits:
    """Proposal method of the editor (a mixin); expects ``self.class_words``, ``self.config`` and ``self.ecfg``."""

    class_words: ClassWords | None
    config: CounterfactualConfig
    ecfg: EditorConfig

    def _mined_edits(self, st: State, every: bool = False) -> list[tuple[Edit, float, str, int]]:
        """Mined edits towards each target the input's counterfactuals should reach (``multi``: up
        to ``per_original`` targets, so its counterfactuals can spread over classes)."""
        targets = st.request.target_classes[: max(1, self.config.per_original)]
        return [e for tgt in targets for e in self._mined_edits_to(st, tgt, every)]

    def _mined_edits_to(self, st: State, tgt: int, every: bool) -> list[tuple[Edit, float, str, int]]:
        cw = self.class_words
        if cw is None:
            return []
        src, lower = st.request.teacher_label, st.lower
        targets = cw.top(tgt, self.ecfg.mined_words)
        if not targets:
            return []
        z_max = max(z for _, z in targets)
        ties = []  # (how much a word ties the text to its class rather than the target, index)
        for i, w in enumerate(lower[: st.visible]):
            if _WORD.match(w):
                sal = float(st.saliency[i]) if st.saliency is not None and i < len(st.saliency) else 0.0
                ties.append((cw.score(w, src) - cw.score(w, tgt) + 4.0 * sal, i))
        ties.sort(key=lambda t: -t[0])
        out: list[tuple[Edit, float, str, int]] = []
        for tie, i in ties[: len(ties) if every else self.ecfg.mined_positions]:
            strength = min(0.5, max(tie, 0.0) / 10)
            for word, z in targets:
                if word != lower[i]:
                    out.append((Edit(i, i + 1, (word,)), 0.5 + strength + 0.3 * z / z_max, "mined-swap", i))
            if len(lower) > 2:
                out.append((Edit(i, i + 1, ()), 0.4 + strength, "mined-delete", i))
        end = len(lower) - 1 if lower and not _WORD.match(lower[-1]) else len(lower)  # before final punctuation
        for word, z in targets[: max(1, self.ecfg.mined_words // 2)]:
            for at in {0, min(end, st.visible)}:
                out.append((Edit(at, at, (word,)), 0.3 + 0.3 * z / z_max, "mined-insert", min(at, len(lower) - 1)))
        return out
