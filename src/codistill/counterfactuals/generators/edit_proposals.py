"""The editor's single-edit proposals (TextAttack's *transformation*): negation removal and
insertion, antonym and opposite-polarity swaps that keep part of speech and inflection,
intensity words, opposite adjectives, edits for the words the teacher relies on most, and for
acceptability tasks grammatical perturbations. A mixin of :class:`EditorGenerator`, which owns
the lexicon, the bigram LM and the search."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from codistill.counterfactuals.generators.editor_words import (
    _ALPHA,
    AGREEMENT,
    AUX_NOT,
    BOUNDARY,
    CONTRACTED,
    DETERMINERS,
    FUNCTION_WORDS,
    INTENSIFIERS,
    NEG,
    NEGATOR_SWAPS,
    PRON_S,
    SPLIT_HEAD,
    STOPWORDS,
    SUBJECTS,
    article_for,
)
from codistill.counterfactuals.generators.fluent import guess_pos
from codistill.counterfactuals.generators.long_text import MARKUP
from codistill.counterfactuals.text import Edit

if TYPE_CHECKING:
    from codistill.counterfactuals.config import EditorConfig
    from codistill.counterfactuals.fluency import NGramLM
    from codistill.counterfactuals.generators.editor_state import State
    from codistill.counterfactuals.lexicon import Lexicon
    from codistill.data.tasks import TaskKind

#: a proposal: ``(edit, prior weight, operation name, index of the word it is about)``
ProposedEdit = tuple[Edit, float, str, int]
#: the words after which "be" already carries a modal ("will be good"): no "not" before it
_MODALS = ("to", "will", "would", "can", "could", "should", "might", "must", "may")


class WordSite(NamedTuple):
    """One word of an input with its neighbours ("" past either end), as the per-word
    proposals read it."""

    i: int
    word: str
    prev: str
    nxt: str


def word_sites(lower: list[str]) -> list[WordSite]:
    """Every word of a lower-cased token list with the words before and after it."""
    n = len(lower)
    return [WordSite(i, w, lower[i - 1] if i else "", lower[i + 1] if i + 1 < n else "") for i, w in enumerate(lower)]


class EditProposals:
    """Proposal methods; expects ``self.lexicon``, ``self.lm``, ``self.kind`` and ``self.ecfg``.
    Each proposal is ``(edit, prior weight, operation name, index of the word it is about)``."""

    lexicon: Lexicon
    lm: NGramLM | None
    kind: TaskKind
    ecfg: EditorConfig

    def _fix_article(self, edit: Edit, lower: list[str]) -> Edit:
        """Keep a/an agreement when the word after the article changes."""
        i = edit.start - 1
        if i < 0 or lower[i] not in ("a", "an"):
            return edit
        nxt = edit.new[0] if edit.new else (lower[edit.end] if edit.end < len(lower) else None)
        if not nxt or not nxt[:1].isalpha():
            return edit
        art = article_for(nxt)
        if art == lower[i]:
            return edit
        return Edit(i, edit.end, (art, *edit.new), edit.op)

    def _strength(self, st: State, i: int, window: int = 4) -> float:
        """Polarity of the strongest word aligned with the current label in ``[i, i+window)``."""
        lex = self.lexicon
        vals = [lex.polarity_of(w) * st.sign for w in st.lower[i : i + window] if _ALPHA.match(w)]
        return max([v for v in vals if v > 0], default=0.0)

    def _in_vocab(self, word: str) -> bool:
        lex = self.lexicon
        return (
            (self.lm is not None and word in self.lm)
            or word in lex.polarity
            or any(word in t for t in lex.curated.values())
        )

    def _sentiment_edits(self, st: State) -> list[ProposedEdit]:
        """Every single edit of the lexicon for an input, word by word (negation removal and
        insertion, antonyms, opposite-polarity swaps, intensity words, opposite adjectives),
        then, for sentiment tasks, the edits for the words the teacher relies on most."""
        sentiment = self.kind == "sentiment"
        out: list[ProposedEdit] = []
        for site in word_sites(st.lower):
            out += self._negation_removals(st, site)
            out += self._negation_insertions(st, site)
            out += self._main_verb_negations(st, site)
            if not _ALPHA.match(site.word) or site.word in NEG:
                continue
            out += self._antonym_swaps(st, site, sentiment)
            if sentiment:
                out += self._strong_word_edits(st, site)
            out += self._intensifier_edits(st, site)
            if sentiment:
                out += self._adjective_insertions(st, site)
        if sentiment:
            out.extend(self._salient_word_edits(st))
        return out

    def _negation_removals(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """Take a negation out: "is n't" -> "is", "not" and "can't" dropped, a negator swapped
        ("never" -> "always"); the prior grows with the polarity of the words that follow."""
        lower, i, w, prev = st.lower, site.i, site.word, site.prev
        if w not in ("not", "n't") and w not in CONTRACTED and w not in NEGATOR_SWAPS:
            return []
        near = max((abs(self.lexicon.polarity_of(x)) for x in lower[i + 1 : i + 5] if _ALPHA.match(x)), default=0.0)
        if w in ("not", "n't"):
            if w == "n't" and prev in SPLIT_HEAD:
                return [(Edit(i - 1, i + 1, (SPLIT_HEAD[prev],)), 1.1 + near, "negation-", i)]
            if prev not in SPLIT_HEAD:
                return [(Edit(i, i + 1, ()), 1.1 + near, "negation-", i + 1)]
            return []
        if w in CONTRACTED:
            return [(Edit(i, i + 1, (CONTRACTED[w],)), 1.1 + near, "negation-", i + 1)]
        return [(Edit(i, i + 1, (rep,) if rep else ()), 0.7 + near, "negation-", i) for rep in NEGATOR_SWAPS[w]]

    def _negation_insertions(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """ "not" after an auxiliary or copula ("is good" -> "is not good"), before a bare "be"
        ("will be good" is left alone); "has" and "had" only before a participle."""
        i, w, prev, nxt = site
        is_aux = (
            w in AUX_NOT
            or (w in ("'s",) and prev in PRON_S)
            or (w.endswith(("'s", "'re", "'m")) and w.split("'")[0] in PRON_S | {"they", "you", "we", "i"})
        )
        if not (is_aux and nxt not in NEG and nxt not in ("n't",) and nxt and _ALPHA.match(nxt)):
            return []
        if w in ("has", "have", "had") and not (
            nxt == "been" or nxt.endswith(("ed", "en")) or self.lexicon.exceptions.get("v", {}).get(nxt)
        ):
            return []
        near = self._strength(st, i + 1)
        if w != "be":
            return [(Edit(i + 1, i + 1, ("not",)), 1.0 + near, "negation+", i + 1)]
        if prev in _MODALS:
            return []
        return [(Edit(i, i, ("not",)), 0.5 + near, "negation+", i + 1)]

    def _main_verb_negations(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """A finite main verb after its subject: "never" before it (one word), or do-support
        ("loves" -> "does not love", three words)."""
        lex, i, w, prev = self.lexicon, site.i, site.word, site.prev
        if not (_ALPHA.match(w) and (prev in SUBJECTS or lex.dominant_pos(prev) == "n") and prev not in AUX_NOT):
            return []
        readings = [a for a in lex.analyse(w) if a.pos == "v" and a.form in ("s", "ed")]
        if not readings or lex.dominant_pos(w) != "v":
            return []
        a = readings[0]
        pol = max(lex.polarity_of(w) * st.sign, 0)
        aux = "does" if a.form == "s" else "did"
        return [
            (Edit(i, i, ("never",)), 0.55 + pol, "negation+", i),
            (Edit(i, i + 1, (aux, "not", a.lemma)), 0.6 + pol, "negation+", i),
        ]

    def _antonym_swaps(self, st: State, site: WordSite, sentiment: bool) -> list[ProposedEdit]:
        """Up to ``max_antonyms`` antonyms of a word aligned with the current label (part of
        speech and inflection kept by the lexicon); on sentiment tasks only antonyms of the
        opposite polarity, or curated neutral ones."""
        lex, sign, i, w = self.lexicon, st.sign, site.i, site.word
        pol = lex.polarity_of(w)
        aligned = pol * sign
        if not (aligned > 0.05 or (not sentiment and pol == 0)):
            return []
        out: list[ProposedEdit] = []
        for opp, source, wt in lex.opposites(w):
            opp_pol = lex.polarity_of(opp)
            if sentiment and not (opp_pol * sign < 0 or (source == "curated" and opp_pol == 0)):
                continue
            if not self._in_vocab(opp):
                continue
            base = {"curated": 1.0, "wordnet": 0.85}.get(source, 0.7) if wt >= 0.9 or source == "curated" else 0.65
            out.append((Edit(i, i + 1, (opp,)), base + 0.5 * aligned, "antonym", i))
            if len(out) >= self.ecfg.max_antonyms:
                break
        return out

    def _strong_word_edits(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """A word strongly aligned with the current label: a generic word of opposite polarity
        in its part of speech and form, and, for a modifier, its deletion before an adjective or
        noun and "hardly" before an adjective."""
        lex, sign, i, w, prev, nxt = self.lexicon, st.sign, site.i, site.word, site.prev, site.nxt
        aligned = lex.polarity_of(w) * sign
        if aligned <= 0.2:
            return []
        out: list[ProposedEdit] = []
        pos = lex.dominant_pos(w)
        readings = [a for a in lex.analyse(w) if a.pos == pos]
        form = readings[0].form if readings else "base"
        if pos in ("a", "r") or form == "ly":
            src_pos = "a" if form == "ly" or pos is None else pos  # pos is "a" or "r" here
            generic = []
            for g in lex.polar_words(src_pos, -sign)[:40]:
                g_form = lex.inflect(g, src_pos, form)
                if g_form and g_form != w and self._in_vocab(g_form):
                    generic.append(g_form)
            for g in self._most_fluent(st.lower, i, i + 1, generic, self.ecfg.generic_swaps):
                out.append((Edit(i, i + 1, (g,)), 0.6 + 0.5 * aligned, "polarity-swap", i))
        # intensity: drop a strong aligned modifier before another word ("very" handled apart)
        if pos in ("a", "r") and (nxt and _ALPHA.match(nxt)) and lex.dominant_pos(nxt) in ("a", "n"):
            out.append((Edit(i, i + 1, ()), 0.25 + 0.3 * aligned, "delete", i))
        if pos == "a" and prev not in AUX_NOT and prev not in NEG and prev not in INTENSIFIERS:
            out.append((Edit(i, i, ("hardly",)), 0.3 + 0.3 * aligned, "intensity", i))
        return out

    def _intensifier_edits(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """An intensity word before an aligned word: "very funny" -> "not funny" / "barely funny"."""
        i = site.i
        if site.word not in INTENSIFIERS or (strength := self._strength(st, i + 1, 2)) <= 0:
            return []
        return [
            (Edit(i, i + 1, ("not",)), 0.75 + strength, "intensity", i + 1),
            (Edit(i, i + 1, ("barely",)), 0.5 + strength, "intensity", i + 1),
        ]

    def _adjective_insertions(self, st: State, site: WordSite) -> list[ProposedEdit]:
        """An adjective of opposite polarity before a noun that follows a determiner."""
        lex, i = self.lexicon, site.i
        if site.prev not in DETERMINERS or lex.dominant_pos(site.word) != "n":
            return []
        adjs = [a for a in lex.polar_words("a", -st.sign)[:30] if self._in_vocab(a)]
        return [
            (Edit(i, i, (g,)), 0.35, "adjective+", i)
            for g in self._most_fluent(st.lower, i, i, adjs, self.ecfg.generic_swaps)
        ]

    def _salient_word_edits(self, st: State, every: bool = False) -> list[ProposedEdit]:
        """Edits for the words the teacher relies on most, whether or not a lexicon knows them:
        an opposite-polarity word of the same part of speech, "not" before a phrase-initial
        adjective or adverb, an opposite adjective before a noun."""
        lower, lex, sign = st.lower, self.lexicon, st.sign
        content = [
            i
            for i, w in enumerate(lower)
            if _ALPHA.match(w) and w not in STOPWORDS and w not in NEG and w not in MARKUP
        ]
        if (saliency := st.saliency) is not None and len(saliency) == len(lower):
            content.sort(key=lambda i: -saliency[i])
        out: list[ProposedEdit] = []
        n_salient = (
            len(lower)
            if every
            else self.ecfg.salient_words + (self.ecfg.salient_words_per_100 * len(lower) // 100 if st.long else 0)
        )
        for i in [i for i in content if i < st.visible][:n_salient]:
            w, prev = lower[i], (lower[i - 1] if i else "")
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            pos = guess_pos(lex, w)
            if (
                pos == "v"
                and w.endswith(("ing", "ed"))
                and (prev in DETERMINERS or prev in BOUNDARY)
                and nxt
                and guess_pos(lex, nxt) == "n"
            ):
                pos = "a"  # attributive participle: "a disturbing disregard"
            aligned = lex.polarity_of(w) * sign
            if aligned < 0:
                continue  # a word already on the target side: changing it pushes the wrong way
            if aligned <= 0.2 and pos == "n" and (not nxt or nxt in BOUNDARY or nxt in (".", "!", "?")):
                # a phrase-final noun carries the judgement ("conceivable mistake"): a curated noun
                # of opposite polarity, at a lower prior than modifier edits
                nouns = [
                    lex.inflect(g, "n", "pl" if w.endswith("s") and not w.endswith("ss") else "base")
                    for g in lex.polar_words("n", -sign)[:25]
                ]
                for g in self._most_fluent(lower, i, i + 1, [g for g in nouns if g and self._in_vocab(g)], 2):
                    out.append((Edit(i, i + 1, (g,)), 0.3, "polarity-swap", i))
            if pos in ("n", "v") and not (aligned <= 0.2 and pos == "n" and (not nxt or nxt in BOUNDARY)):
                # last resort, tried after every other single edit: a curated noun or verb of
                # opposite polarity in the same form (changes the content, not just the judgement)
                readings = [a for a in lex.analyse(w) if a.pos == pos]
                form = readings[0].form if readings else "base"
                options = [lex.inflect(g, pos, form) for g in lex.polar_words(pos, -sign)[:25]]
                for g in self._most_fluent(
                    lower, i, i + 1, [g for g in options if g and g != w and self._in_vocab(g)], 2
                ):
                    out.append((Edit(i, i + 1, (g,)), 0.0, "polarity-swap", i))
            if aligned <= 0.2 and pos in ("a", "r"):
                # generic opposites only for modifiers: a generic noun or verb ("pay" -> "sparkle")
                # changes what the text is about rather than how it judges it
                src_pos, form = pos, "base"
                readings = [a for a in lex.analyse(w) if a.pos == pos]
                if readings and (pos != "a" or readings[0].form == "ly"):
                    form = readings[0].form  # "normally" -> "terribly", not "terrible"
                if form == "ly":
                    src_pos = "a"
                swaps: list[str] = []
                for g in lex.polar_words(src_pos if src_pos in ("a", "n", "v", "r") else "a", -sign)[:40]:
                    g_form = lex.inflect(g, src_pos, form) if src_pos in ("a", "n", "v", "r") else g
                    if g_form and g_form != w and self._in_vocab(g_form):
                        swaps.append(g_form)
                for g in self._most_fluent(lower, i, i + 1, swaps, 2):
                    out.append((Edit(i, i + 1, (g,)), 0.45, "polarity-swap", i))
            if prev in BOUNDARY and (pos in ("a", "r") or (i == 0 and pos != "v")) and lower[i - 1 : i] != ["not"]:
                out.append((Edit(i, i, ("not",)), 0.55, "negation+", i))
            if pos == "n" and (
                prev in BOUNDARY or prev in DETERMINERS or prev in ("of", "in", "with", "for", "on", "to")
            ):
                adjs = [a for a in lex.polar_words("a", -sign)[:30] if self._in_vocab(a)]
                for g in self._most_fluent(lower, i, i, adjs, 2):
                    out.append((Edit(i, i, (g,)), 0.4, "adjective+", i))
        return out

    def _grammar_edits(self, st: State) -> list[ProposedEdit]:
        lower, lex = st.lower, self.lexicon
        break_it = st.sign > 0  # acceptable now: perturb towards unacceptable
        out: list[ProposedEdit] = []
        n = len(lower)
        for i, w in enumerate(lower):
            if not _ALPHA.match(w):
                continue
            if w in AGREEMENT:
                out.append((Edit(i, i + 1, (AGREEMENT[w],)), 0.9, "agreement", i))
            readings = [a for a in lex.analyse(w) if a.pos == "v"]
            if readings:
                a = readings[0]
                if a.form == "s":
                    out.append((Edit(i, i + 1, (a.lemma,)), 0.8, "verb-form", i))
                elif a.form == "base" and lex.dominant_pos(w) == "v":
                    form = lex.inflect(a.lemma, "v", "s")
                    if form:
                        out.append((Edit(i, i + 1, (form,)), 0.6, "verb-form", i))
                    past = lex.inflect(a.lemma, "v", "ed")
                    if past and break_it:
                        out.append((Edit(i, i + 1, (past,)), 0.4, "verb-form", i))
            if w in FUNCTION_WORDS or not break_it:
                out.append((Edit(i, i + 1, ()), 0.7 if w in FUNCTION_WORDS else 0.5, "delete", i))
            if i + 1 < n and _ALPHA.match(lower[i + 1]) and lower[i + 1] != w:
                out.append((Edit(i, i + 2, (lower[i + 1], w)), 0.45, "swap", i))
            if break_it and lex.dominant_pos(w) == "v" and i > 0:
                out.append((Edit(i, i, ("the",)), 0.35, "insert", i))
            if not break_it and lex.dominant_pos(w) == "n" and (i == 0 or lower[i - 1] not in DETERMINERS):
                out.append((Edit(i, i, ("the",)), 0.4, "insert", i))
        return out

    def _most_fluent(self, lower: list[str], start: int, end: int, options: list[str], k: int) -> list[str]:
        if not options or k <= 0:
            return []
        if self.lm is None:
            return options[:k]
        scored = []
        for opt in options:
            new = lower[:start] + [opt] + lower[end:]
            scored.append((self.lm.delta(lower, new, start, end, start + 1), opt))
        scored.sort(key=lambda s: -s[0])
        return [o for _, o in scored[:k]]
