"""``editor``: offline, teacher-guided minimal-edit search (no LLM).

TextAttack's split, in one module:

* transformation -- single edits proposed from lexical resources: negation removal ("is n't" ->
  "is", "does not work" -> "does work") and insertion after an auxiliary or copula ("is good" ->
  "is not good"), "never" before a finite verb, antonym swaps that keep part of speech and
  inflection ("loves" -> "hates", "better" -> "worse"), swaps to a generic word of opposite
  polarity, intensity words, opposite adjectives before nouns; for acceptability tasks
  grammatical perturbations (agreement, verb form, function-word deletion, word order);
* constraints -- a fluency score from a bigram LM fitted on the task's pool rejects
  ungrammatical edits ("it not embraces"), and articles are re-agreed ("a bad" -> "an awful");
* goal function -- the teacher (``verify``): a candidate counts only if the prediction flips;
* search -- best-first over rounds: the top-scored single edits first (lexicon prior), then,
  for inputs not yet flipped, the teacher's gradient saliency re-ranks words and the single edits
  that moved the teacher most are combined. Every round's candidates of a whole chunk of inputs
  are checked in one batched teacher pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from codistill.counterfactuals.generators.base import Failure, Generator, Outcome, Request, choose_many, register_generator
from codistill.counterfactuals.generators.editor_words import (  # noqa: F401 - article_for, task_kind re-exported
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
    task_kind,
)
from codistill.counterfactuals.generators.fluent import guess_pos, pos_consistent
from codistill.counterfactuals.generators.long_text import MARKUP, stack_sizes, stacked, visible_tokens
from codistill.counterfactuals.text import Edit, Token, apply_edits, tokenize

if TYPE_CHECKING:
    from codistill.counterfactuals.fluency import NGramLM
    from codistill.counterfactuals.lexicon import Lexicon
    from codistill.counterfactuals.verify import Verifier

EDITOR_VERSION = 6  # bump when proposals or search change, so cached results are not reused

@dataclass
class Cand:
    edits: tuple[Edit, ...]
    prior: float
    fluency: float
    ops: tuple[str, ...]
    focus: int  # token index the edit is about (for saliency)

    @property
    def cost(self) -> int:
        return sum(e.cost for e in self.edits)


@dataclass
class State:
    request: Request
    tokens: list[Token]
    lower: list[str]
    sign: int  # +1 when the teacher says label 1 (positive/acceptable)
    singles: list[Cand] = field(default_factory=list)
    tried: dict[str, tuple[Cand, np.ndarray]] = field(default_factory=dict)  # text -> (cand, probs)
    measured: list[tuple[float, Cand]] = field(default_factory=list)  # (gain, cand) of non-flipping candidates
    next_single: int = 0
    rounds: int = 0
    saliency: np.ndarray | None = None
    done: bool = False
    visible: int = 10**9  # word tokens the teacher reads (long inputs may be truncated)
    long: bool = False
    widened: bool = False  # the first rounds ran out of edits: every content word gets edits

    @property
    def target(self) -> int:
        return self.request.target_label

    @property
    def p0(self) -> float:
        return self.request.teacher_probs[self.target]

    def text_of(self, cand: Cand) -> str:
        return apply_edits(self.request.example.text, self.tokens, cand.edits)


@register_generator("editor")
class EditorGenerator(Generator):
    """Teacher-guided minimal edits from packaged lexical resources."""

    def __init__(self, config, task) -> None:
        super().__init__(config, task)
        from codistill.counterfactuals.lexicon import Lexicon

        self.ecfg = config.editor
        self.kind = task_kind(task)
        self.lexicon: Lexicon = Lexicon.load(self.ecfg.wordnet_dir, sentiment=self.kind != "acceptability")
        self.lm: NGramLM | None = None
        self._lm_source = ""
        self.chooser = None
        if self.ecfg.lm:
            from codistill.counterfactuals.generators.fluent import LMChooser

            self.chooser = LMChooser(self.ecfg.lm, self.ecfg.lm_weight)

    def identity(self) -> dict[str, Any]:
        return {"generator": self.name, "version": EDITOR_VERSION, "kind": self.kind, "lexicon": self.lexicon.sources,
                "params": self.ecfg.model_dump(mode="json", exclude={"chunk_size"}), "lm": self._lm_source}

    def prepare(self, texts: Sequence[str], source: str) -> None:
        """Fit the fluency model on the task's pool (``source`` names it in cache keys)."""
        from codistill.counterfactuals.fluency import NGramLM

        if self.ecfg.fluency != "none":
            self.lm = NGramLM(texts)
            self._lm_source = source

    # ------------------------------------------------------------------------------------
    def search(self, requests: Sequence[Request], verifier: Verifier, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        from tqdm.auto import tqdm

        outcomes: list[Outcome] = []
        size = max(1, self.ecfg.chunk_size)
        with tqdm(total=len(requests), desc="editor", unit="input", disable=not self.config.progress, leave=False) as bar:
            for start in range(0, len(requests), size):
                chunk = self._search_chunk(list(requests[start : start + size]), verifier)
                for out in chunk:
                    if on_outcome:
                        on_outcome(out)
                outcomes.extend(chunk)
                bar.update(len(chunk))
        return outcomes

    def _search_chunk(self, requests: list[Request], verifier: Verifier) -> list[Outcome]:
        states = []
        for req in requests:
            tokens = tokenize(req.example.text)
            states.append(State(req, tokens, [t.lower for t in tokens], +1 if req.teacher_label == 1 else -1,
                                long=len(tokens) >= self.ecfg.long_words))
        long_states = [s for s in states if s.long]
        if long_states:
            for st, n in zip(long_states, visible_tokens(verifier, [s.request.example.text for s in long_states], [s.tokens for s in long_states])):
                st.visible = n
        if self.ecfg.saliency and hasattr(verifier, "word_saliency"):
            # one forward+backward per input tells which words the teacher relies on; it pays for
            # itself by putting the right word in the first round
            self._add_saliency(states, verifier)
        for st in states:
            st.singles = self._singles(st)
        k = self.ecfg.candidates_per_round
        for rnd in range(1, self.ecfg.max_rounds + self.ecfg.extra_rounds + 1):
            active = [s for s in states if not s.done and (rnd <= self.ecfg.max_rounds or s.long or s.widened)]
            if not active:
                break
            batch: list[tuple[State, Cand, str]] = []
            for st in active:
                st.rounds = rnd
                cands = self._next_candidates(st, k if rnd > 1 else self.ecfg.first_round)
                if not cands and not st.widened and self.kind == "sentiment":
                    # the first rounds failed and ran out of edits: every content word gets edits,
                    # and the best are stacked (a larger search only where it is needed)
                    st.widened = True
                    st.singles.extend(self._singles(st, widen=True))
                    cands = self._next_candidates(st, k)
                for cand in cands:
                    batch.append((st, cand, st.text_of(cand)))
            if not batch:
                for st in active:
                    st.done = True
                continue
            probs = verifier.probs([t for _, _, t in batch])
            for (st, cand, text), p in zip(batch, probs):
                st.tried[text] = (cand, p)
                if int(p.argmax()) == st.request.teacher_label:
                    st.measured.append((float(p[st.target]) - st.p0, cand))
            for st in active:
                st.done = self._enough(st)
        penalties: list[dict[str, float] | None] = [None] * len(states)
        if self.chooser is not None:
            penalties = self.chooser.penalties([(st.request.example.text, [t for t, (_, p) in st.tried.items()
                                                                            if int(p.argmax()) != st.request.teacher_label]) for st in states])
        return [self._outcome(st, pen) for st, pen in zip(states, penalties)]

    def _enough(self, st: State) -> bool:
        """One flip (or, with ``per_original`` m > 1, m diverse flips) ends an input's search."""
        flips = [t for t, (_, p) in st.tried.items() if int(p.argmax()) != st.request.teacher_label]
        m = self.config.per_original
        if m <= 1 or not flips:
            return bool(flips)
        from codistill.counterfactuals.diverse import diverse_count

        return diverse_count(st.request.example.text, flips, m) >= m

    def _outcome(self, st: State, lm_penalty: dict[str, float] | None = None) -> Outcome:
        req = st.request
        flips = [(t, [float(x) for x in p], int(p.argmax())) for t, (_, p) in st.tried.items() if int(p.argmax()) != req.teacher_label]
        fluency = {t: c.fluency for t, (c, _) in st.tried.items()}
        ops = {t: c.ops for t, (c, _) in st.tried.items()}
        lm_pen = lm_penalty or {}
        penalty = (lambda t: -self.ecfg.fluency_weight * fluency[t] + lm_pen.get(t, 0.0)) if self.lm or lm_pen else None
        picked = choose_many(req.example.text, flips, self.config.selection, self.config.per_original, penalty)
        chosen = picked[0] if picked else None
        out = Outcome(req.example.id, chosen, st.rounds, 0.0, [], candidates_checked=len(st.tried), valid_candidates=len(flips),
                      alternatives=picked[1:])
        for c in picked:
            c.meta = {"ops": list(ops[c.text]), "fluency_delta": round(fluency[c.text], 3)}
            if c.text in lm_pen:
                c.meta["lm_log_ppl_ratio"] = round(lm_pen[c.text] / max(self.ecfg.lm_weight, 1e-9), 4)
        if chosen is None:
            best = max(st.tried.items(), key=lambda kv: kv[1][1][req.target_label], default=None)
            detail = (f"no flip in {len(st.tried)} candidates over {st.rounds} rounds"
                      + (f"; best p({self.task.label_names[req.target_label]})={best[1][1][req.target_label]:.2f}" if best else "; no edit applies"))
            out.failures.append(Failure(req.example.id, st.rounds, "editor:no_flip" if st.tried else "editor:no_edit", detail,
                                        candidate=best[0] if best else None,
                                        teacher_probs=[float(x) for x in best[1][1]] if best else None))
        return out

    # -- search -----------------------------------------------------------------------------
    def _add_saliency(self, states: list[State], verifier) -> None:
        sal = verifier.word_saliency([s.request.example.text for s in states], [s.tokens for s in states],
                                     [s.request.teacher_label for s in states])
        for st, values in zip(states, sal):
            pos = np.clip(values, 0, None)
            st.saliency = pos / pos.max() if pos.size and pos.max() > 0 else np.zeros_like(values)

    def _sal(self, st: State, i: int) -> float:
        if st.saliency is None or not len(st.saliency):
            return 0.3
        return float(st.saliency[min(max(i, 0), len(st.saliency) - 1)])

    def _next_candidates(self, st: State, k: int) -> list[Cand]:
        out: list[Cand] = []
        seen = set(st.tried)

        def take(c: Cand) -> None:
            text = st.text_of(c)
            if text not in seen and text != st.request.example.text:
                seen.add(text)
                out.append(c)

        if (st.long or st.widened) and st.measured and st.rounds > 1:
            sizes = stack_sizes(min(len(st.tokens), st.visible), self.ecfg.max_edits, self.ecfg.max_edit_fraction)
            for c in stacked(st.measured, sizes, Cand):
                take(c)
        if st.measured and st.rounds > 1:
            # combine the single edits that moved the teacher most towards the target
            best = [c for g, c in sorted(st.measured, key=lambda gc: -gc[0]) if g > 0][: self.ecfg.beam]
            combos = []
            for a, b in itertools.combinations(best, 2):
                edits = a.edits + b.edits
                if len(edits) > self.ecfg.max_edits or any(x.overlaps(y) for x, y in itertools.combinations(edits, 2)):
                    continue
                combos.append(Cand(edits, a.prior + b.prior, (a.fluency + b.fluency) / 2, a.ops + b.ops, a.focus))
            for c in sorted(combos, key=lambda c: (c.cost, -c.prior))[: max(1, k // 2)]:
                take(c)
        while len(out) < k and st.next_single < len(st.singles):
            take(st.singles[st.next_single])
            st.next_single += 1
        return out

    # -- transformations ----------------------------------------------------------------------
    def _singles(self, st: State, widen: bool = False) -> list[Cand]:
        lower, lex = st.lower, self.lexicon
        raw: list[tuple[Edit, float, str, int]] = []  # (edit, weight, op, focus)
        if widen:
            raw = self._salient_word_edits(st, every=True)
        elif self.kind == "acceptability":
            raw = self._grammar_edits(st)
        else:
            raw = self._sentiment_edits(st)
        cands: dict[tuple, Cand] = {}
        want_fluent = not (self.kind == "acceptability" and st.sign > 0)  # making it unacceptable is the point
        for edit, weight, op, focus in raw:
            if edit.start >= st.visible:
                continue  # past the teacher's max_length: it would never see the edit
            if (self.ecfg.pos_consistent and op in ("antonym", "polarity-swap") and edit.end - edit.start == 1 and len(edit.new) == 1
                    and not pos_consistent(self.lexicon, lower[edit.start], edit.new[0])):
                continue  # "can't recommend" -> "asset recommend"
            edit = self._fix_article(edit, lower)
            new_lower = lower[: edit.start] + [w.lower() for w in edit.new] + lower[edit.end :]
            if new_lower == lower:
                continue
            fl = 0.0
            if self.lm is not None:
                scores = self.lm.new_bigrams(new_lower, edit.start, edit.start + len(edit.new))
                if scores:
                    if want_fluent and min(scores) < self.ecfg.min_bigram_slor:
                        continue  # an ungrammatical or very unnatural junction ("a not good", "film not is")
                    fl = max(-3.0, min(3.0, sum(scores) / len(scores)))
            prior = (weight + self.ecfg.saliency_weight * self._sal(st, focus) - 0.25 * (edit.cost - 1)
                     + (self.ecfg.fluency_prior * fl if want_fluent else 0.0))
            key = (edit.start, edit.end, edit.new)
            if key not in cands or cands[key].prior < prior:
                cands[key] = Cand((edit,), prior, fl, (op,), focus)
        del lex
        return sorted(cands.values(), key=lambda c: -c.prior)

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
        return (self.lm is not None and word in self.lm) or word in lex.polarity or any(word in t for t in lex.curated.values())

    def _sentiment_edits(self, st: State) -> list[tuple[Edit, float, str, int]]:
        lower, lex, sign = st.lower, self.lexicon, st.sign
        sentiment = self.kind == "sentiment"
        out: list[tuple[Edit, float, str, int]] = []
        n = len(lower)
        for i, w in enumerate(lower):
            prev = lower[i - 1] if i else ""
            nxt = lower[i + 1] if i + 1 < n else ""
            near = self._strength(st, i + 1)
            near_any = max((abs(lex.polarity_of(x)) for x in lower[i + 1 : i + 5] if _ALPHA.match(x)), default=0.0)
            # -- negation removal
            if w in ("not", "n't"):
                if w == "n't" and prev in SPLIT_HEAD:
                    out.append((Edit(i - 1, i + 1, (SPLIT_HEAD[prev],)), 1.1 + near_any, "negation-", i))
                elif prev not in SPLIT_HEAD:
                    out.append((Edit(i, i + 1, ()), 1.1 + near_any, "negation-", i + 1))
            elif w in CONTRACTED:
                out.append((Edit(i, i + 1, (CONTRACTED[w],)), 1.1 + near_any, "negation-", i + 1))
            elif w in NEGATOR_SWAPS:
                for rep in NEGATOR_SWAPS[w]:
                    out.append((Edit(i, i + 1, (rep,) if rep else ()), 0.7 + near_any, "negation-", i))
            # -- negation insertion after auxiliaries and copulas
            is_aux = w in AUX_NOT or (w in ("'s",) and prev in PRON_S) or (w.endswith(("'s", "'re", "'m")) and w.split("'")[0] in PRON_S | {"they", "you", "we", "i"})
            if is_aux and nxt not in NEG and nxt not in ("n't",) and nxt and _ALPHA.match(nxt):
                if w in ("has", "have", "had") and not (nxt == "been" or nxt.endswith(("ed", "en")) or lex.exceptions.get("v", {}).get(nxt)):
                    pass
                elif w == "be" and prev not in ("to", "will", "would", "can", "could", "should", "might", "must", "may"):
                    out.append((Edit(i, i, ("not",)), 0.5 + near, "negation+", i + 1))
                elif w != "be":
                    out.append((Edit(i + 1, i + 1, ("not",)), 1.0 + near, "negation+", i + 1))
            # -- finite main verbs: "never" (one word) or do-support (three)
            if _ALPHA.match(w) and (prev in SUBJECTS or lex.dominant_pos(prev) == "n") and prev not in AUX_NOT:
                readings = [a for a in lex.analyse(w) if a.pos == "v" and a.form in ("s", "ed")]
                if readings and lex.dominant_pos(w) == "v":
                    a = readings[0]
                    pol = lex.polarity_of(w) * sign
                    out.append((Edit(i, i, ("never",)), 0.55 + max(pol, 0), "negation+", i))
                    aux = "does" if a.form == "s" else "did"
                    out.append((Edit(i, i + 1, (aux, "not", a.lemma)), 0.6 + max(pol, 0), "negation+", i))
            if not _ALPHA.match(w) or w in NEG:
                continue
            pol = lex.polarity_of(w)
            aligned = pol * sign
            # -- antonym swaps (part of speech and inflection kept by the lexicon)
            if aligned > 0.05 or (not sentiment and pol == 0):
                taken = 0
                for opp, source, wt in lex.opposites(w):
                    opp_pol = lex.polarity_of(opp)
                    if sentiment and not (opp_pol * sign < 0 or (source == "curated" and opp_pol == 0)):
                        continue
                    if not self._in_vocab(opp):
                        continue
                    base = {"curated": 1.0, "wordnet": 0.85}.get(source, 0.7) if wt >= 0.9 or source == "curated" else 0.65
                    out.append((Edit(i, i + 1, (opp,)), base + 0.5 * aligned, "antonym", i))
                    taken += 1
                    if taken >= self.ecfg.max_antonyms:
                        break
            # -- generic swap to a word of opposite polarity with the same part of speech
            if sentiment and aligned > 0.2:
                pos = lex.dominant_pos(w)
                readings = [a for a in lex.analyse(w) if a.pos == pos]
                form = readings[0].form if readings else "base"
                if pos in ("a", "r") or form == "ly":
                    src_pos = "a" if form == "ly" else pos
                    generic = []
                    for g in lex.polar_words(src_pos, -sign)[:40]:
                        g_form = lex.inflect(g, src_pos, form)
                        if g_form and g_form != w and self._in_vocab(g_form):
                            generic.append(g_form)
                    for g in self._most_fluent(lower, i, i + 1, generic, self.ecfg.generic_swaps):
                        out.append((Edit(i, i + 1, (g,)), 0.6 + 0.5 * aligned, "polarity-swap", i))
                # intensity: drop a strong aligned modifier before another word ("very" handled below)
                if pos in ("a", "r") and (nxt and _ALPHA.match(nxt)) and lex.dominant_pos(nxt) in ("a", "n"):
                    out.append((Edit(i, i + 1, ()), 0.25 + 0.3 * aligned, "delete", i))
                if pos == "a" and prev not in AUX_NOT and prev not in NEG and prev not in INTENSIFIERS:
                    out.append((Edit(i, i, ("hardly",)), 0.3 + 0.3 * aligned, "intensity", i))
            # -- intensity words: "very funny" -> "not funny" / "barely funny"
            if w in INTENSIFIERS and self._strength(st, i + 1, 2) > 0:
                out.append((Edit(i, i + 1, ("not",)), 0.75 + self._strength(st, i + 1, 2), "intensity", i + 1))
                out.append((Edit(i, i + 1, ("barely",)), 0.5 + self._strength(st, i + 1, 2), "intensity", i + 1))
            # -- an opposite adjective before a noun after a determiner
            if sentiment and prev in DETERMINERS and lex.dominant_pos(w) == "n":
                adjs = [a for a in lex.polar_words("a", -sign)[:30] if self._in_vocab(a)]
                for g in self._most_fluent(lower, i, i, adjs, self.ecfg.generic_swaps):
                    out.append((Edit(i, i, (g,)), 0.35, "adjective+", i))
        if sentiment:
            out.extend(self._salient_word_edits(st))
        return out

    def _salient_word_edits(self, st: State, every: bool = False) -> list[tuple[Edit, float, str, int]]:
        """Edits for the words the teacher relies on most, whether or not a lexicon knows them:
        an opposite-polarity word of the same part of speech, "not" before a phrase-initial
        adjective or adverb, an opposite adjective before a noun."""
        lower, lex, sign = st.lower, self.lexicon, st.sign
        content = [i for i, w in enumerate(lower) if _ALPHA.match(w) and w not in STOPWORDS and w not in NEG and w not in MARKUP]
        if st.saliency is not None and len(st.saliency) == len(lower):
            content.sort(key=lambda i: -st.saliency[i])
        out: list[tuple[Edit, float, str, int]] = []
        n_salient = len(lower) if every else self.ecfg.salient_words + (self.ecfg.salient_words_per_100 * len(lower) // 100 if st.long else 0)
        for i in [i for i in content if i < st.visible][:n_salient]:
            w, prev = lower[i], (lower[i - 1] if i else "")
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            pos = guess_pos(lex, w)
            if pos == "v" and w.endswith(("ing", "ed")) and (prev in DETERMINERS or prev in BOUNDARY) and nxt and guess_pos(lex, nxt) == "n":
                pos = "a"  # attributive participle: "a disturbing disregard"
            aligned = lex.polarity_of(w) * sign
            if aligned < 0:
                continue  # a word already on the target side: changing it pushes the wrong way
            if aligned <= 0.2 and pos == "n" and (not nxt or nxt in BOUNDARY or nxt in (".", "!", "?")):
                # a phrase-final noun carries the judgement ("conceivable mistake"): a curated noun
                # of opposite polarity, at a lower prior than modifier edits
                nouns = [lex.inflect(g, "n", "pl" if w.endswith("s") and not w.endswith("ss") else "base") for g in lex.polar_words("n", -sign)[:25]]
                for g in self._most_fluent(lower, i, i + 1, [g for g in nouns if g and self._in_vocab(g)], 2):
                    out.append((Edit(i, i + 1, (g,)), 0.3, "polarity-swap", i))
            if pos in ("n", "v") and not (aligned <= 0.2 and pos == "n" and (not nxt or nxt in BOUNDARY)):
                # last resort, tried after every other single edit: a curated noun or verb of
                # opposite polarity in the same form (changes the content, not just the judgement)
                readings = [a for a in lex.analyse(w) if a.pos == pos]
                form = readings[0].form if readings else "base"
                options = [lex.inflect(g, pos, form) for g in lex.polar_words(pos, -sign)[:25]]
                for g in self._most_fluent(lower, i, i + 1, [g for g in options if g and g != w and self._in_vocab(g)], 2):
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
                options = []
                for g in lex.polar_words(src_pos if src_pos in ("a", "n", "v", "r") else "a", -sign)[:40]:
                    g_form = lex.inflect(g, src_pos, form) if src_pos in ("a", "n", "v", "r") else g
                    if g_form and g_form != w and self._in_vocab(g_form):
                        options.append(g_form)
                for g in self._most_fluent(lower, i, i + 1, options, 2):
                    out.append((Edit(i, i + 1, (g,)), 0.45, "polarity-swap", i))
            if prev in BOUNDARY and (pos in ("a", "r") or (i == 0 and pos != "v")) and lower[i - 1 : i] != ["not"]:
                out.append((Edit(i, i, ("not",)), 0.55, "negation+", i))
            if pos == "n" and (prev in BOUNDARY or prev in DETERMINERS or prev in ("of", "in", "with", "for", "on", "to")):
                adjs = [a for a in lex.polar_words("a", -sign)[:30] if self._in_vocab(a)]
                for g in self._most_fluent(lower, i, i, adjs, 2):
                    out.append((Edit(i, i, (g,)), 0.4, "adjective+", i))
        return out

    def _grammar_edits(self, st: State) -> list[tuple[Edit, float, str, int]]:
        lower, lex = st.lower, self.lexicon
        break_it = st.sign > 0  # acceptable now: perturb towards unacceptable
        out: list[tuple[Edit, float, str, int]] = []
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


