"""``editor``: offline, teacher-guided minimal-edit search (no LLM).

TextAttack's split (the proposals are the :class:`EditProposals` mixin, the per-input search state
is in ``editor_state``):

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
from typing import TYPE_CHECKING, Any

import numpy as np

from codistill.counterfactuals.generators.base import (
    Confirmation,
    Failure,
    Generator,
    Outcome,
    Request,
    choose_many,
    pick_confirmed,
    register_generator,
)
from codistill.counterfactuals.generators.class_words import ClassWords, MinedEdits, mine_class_words
from codistill.counterfactuals.generators.edit_proposals import EditProposals, ProposedEdit
from codistill.counterfactuals.generators.editor_state import Cand, State
from codistill.counterfactuals.generators.editor_words import article_for  # noqa: F401 - article_for re-exported
from codistill.counterfactuals.generators.fluent import pos_consistent
from codistill.counterfactuals.generators.long_text import (
    stack_sizes,
    stacked,
    visible_tokens,
)
from codistill.counterfactuals.text import has_words, tokenize
from codistill.counterfactuals.verify import candidate_probs
from codistill.data.tasks import task_kind

if TYPE_CHECKING:
    from codistill.counterfactuals.fluency import NGramLM
    from codistill.counterfactuals.lexicon import Lexicon
    from codistill.counterfactuals.verify import Verifier

EDITOR_VERSION = 7  # bump when proposals or search change, so cached results are not reused
MINED_VERSION = 1  # the same for the mined edits of tasks without a lexicon


@register_generator("editor")
class EditorGenerator(EditProposals, MinedEdits, Generator):
    """Teacher-guided minimal edits from packaged lexical resources."""

    def __init__(self, config, task) -> None:
        super().__init__(config, task)
        from codistill.counterfactuals.lexicon import Lexicon

        self.ecfg = config.editor
        self.kind = task_kind(task)
        # a sentiment lexicon only for sentiment tasks; any other task gets edits mined from its own pool
        self.lexicon: Lexicon = Lexicon.load(self.ecfg.wordnet_dir, sentiment=self.kind == "sentiment")
        self.class_words: ClassWords | None = None
        self._pool: list[str] = []
        self._pool_source = ""
        self.lm: NGramLM | None = None
        self._lm_source = ""
        self.chooser = None
        if self.ecfg.lm:
            from codistill.counterfactuals.generators.fluent import LMChooser

            self.chooser = LMChooser(self.ecfg.lm, self.ecfg.lm_weight)

    def identity(self) -> dict[str, Any]:
        mined = self.kind == "generic" and self.ecfg.mined_texts > 0
        exclude = {"chunk_size"} | (
            set() if mined else {"mined_texts", "mined_words", "mined_positions"}
        )  # sentiment keys unchanged
        return {
            "generator": self.name,
            "version": EDITOR_VERSION,
            "kind": self.kind,
            "lexicon": self.lexicon.sources,
            "params": self.ecfg.model_dump(mode="json", exclude=exclude),
            "lm": self._lm_source,
            **({"mined": [MINED_VERSION, self._pool_source]} if mined else {}),
        }

    def prepare(self, texts: Sequence[str], source: str) -> None:
        """Fit the fluency model on the task's pool (``source`` names it in cache keys)."""
        from codistill.counterfactuals.fluency import NGramLM

        self._pool, self._pool_source = list(texts), source
        if self.ecfg.fluency != "none":
            self.lm = NGramLM(texts)
            self._lm_source = source

    # ------------------------------------------------------------------------------------
    def search(
        self, requests: Sequence[Request], verifier: Verifier, on_outcome: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        from tqdm.auto import tqdm

        if self.kind == "generic" and self.class_words is None and self._pool:
            self.class_words = mine_class_words(self._pool, verifier, len(self.task.label_names), self.ecfg.mined_texts)
        outcomes: list[Outcome] = []
        size = max(1, self.ecfg.chunk_size)
        with tqdm(
            total=len(requests), desc="editor", unit="input", disable=not self.config.progress, leave=False
        ) as bar:
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
            states.append(
                State(
                    req,
                    tokens,
                    [t.lower for t in tokens],
                    +1 if req.teacher_label == 1 else -1,
                    long=len(tokens) >= self.ecfg.long_words,
                )
            )
        long_states = [s for s in states if s.long]
        if long_states:
            for st, n in zip(
                long_states,
                visible_tokens(
                    verifier, [s.request.example.text for s in long_states], [s.tokens for s in long_states]
                ),
            ):
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
                if not cands and not st.widened and self.kind != "acceptability":
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
            probs = candidate_probs(
                verifier, [t for _, _, t in batch], [st.request.teacher_label for st, _, _ in batch]
            )
            for (st, cand, text), p in zip(batch, probs):
                st.tried[text] = (cand, p)
                if not st.request.reached(int(p.argmax())):
                    st.measured.append((float(p[st.target]) - st.p0, cand))
            self._confirm(active, verifier, [None] * len(active))
            for st in active:
                st.done = self._enough(st)
        penalties: list[dict[str, float] | None] = [None] * len(states)
        if self.chooser is not None:
            penalties = list(
                self.chooser.penalties([(st.request.example.text, [t for t, _, _ in st.flips()]) for st in states])
            )
            self._confirm(states, verifier, penalties)  # the LM may prefer a flip not yet confirmed
        return [self._outcome(st, pen) for st, pen in zip(states, penalties)]

    def _confirm(self, states: list[State], verifier: Verifier, penalties: list[dict[str, float] | None]) -> None:
        """With a screening verifier: the exact teacher confirms the flips each input would keep
        (its probabilities replace the screen's); a vetoed flip becomes a measured non-flip and
        the search goes on."""
        if getattr(verifier, "confirm", None) is None:
            return
        jobs = []
        for st, pen in zip(states, penalties):
            flips = st.flips()
            if flips:
                jobs.append(
                    (
                        st,
                        Confirmation(
                            st.request.example.text,
                            flips,
                            st.request.teacher_label,
                            self._penalty(st, pen),
                            st.exact,
                            targets=st.request.target_classes,
                        ),
                    )
                )
        pick_confirmed(verifier, [j for _, j in jobs], self.config.selection, self.config.per_original)
        for st, job in jobs:
            for text, probs, _ in job.flips:
                if text in st.exact:
                    st.tried[text] = (st.tried[text][0], np.asarray(probs))
            for text, probs in job.vetoed:
                cand = st.tried[text][0]
                st.tried[text] = (cand, np.asarray(probs))
                st.measured.append((float(probs[st.target]) - st.p0, cand))

    def _penalty(self, st: State, lm_penalty: dict[str, float] | None) -> Callable[[str], float] | None:
        fluency = {t: c.fluency for t, (c, _) in st.tried.items()}
        lm_pen = lm_penalty or {}
        return (lambda t: -self.ecfg.fluency_weight * fluency[t] + lm_pen.get(t, 0.0)) if self.lm or lm_pen else None

    def _enough(self, st: State) -> bool:
        """One flip (or, with ``per_original`` m > 1, m diverse flips) ends an input's search."""
        flips = [t for t, _, _ in st.flips()]
        m = self.config.per_original
        if m <= 1 or not flips:
            return bool(flips)
        from codistill.counterfactuals.diverse import diverse_count

        reachable = min(m, len(st.request.target_classes))
        if reachable > 1 and len({label for _, _, label in st.flips()}) < reachable:
            return False  # multi over several targets: go on until each has a flip (or the rounds run out)
        return diverse_count(st.request.example.text, flips, m) >= m

    def _outcome(self, st: State, lm_penalty: dict[str, float] | None = None) -> Outcome:
        req = st.request
        flips = st.flips()
        fluency = {t: c.fluency for t, (c, _) in st.tried.items()}
        ops = {t: c.ops for t, (c, _) in st.tried.items()}
        lm_pen = lm_penalty or {}
        picked = choose_many(
            req.example.text, flips, self.config.selection, self.config.per_original, self._penalty(st, lm_penalty)
        )
        chosen = picked[0] if picked else None
        out = Outcome(
            req.example.id,
            chosen,
            st.rounds,
            0.0,
            [],
            candidates_checked=len(st.tried),
            valid_candidates=len(flips),
            alternatives=picked[1:],
        )
        for c in picked:
            c.meta = {"ops": list(ops[c.text]), "fluency_delta": round(fluency[c.text], 3)}
            if c.text in lm_pen:
                c.meta["lm_log_ppl_ratio"] = round(lm_pen[c.text] / max(self.ecfg.lm_weight, 1e-9), 4)
        if chosen is None:
            best = max(st.tried.items(), key=lambda kv: kv[1][1][req.target_label], default=None)
            detail = f"no flip in {len(st.tried)} candidates over {st.rounds} rounds" + (
                f"; best p({self.task.label_names[req.target_label]})={best[1][1][req.target_label]:.2f}"
                if best
                else "; no edit applies"
            )
            out.failures.append(
                Failure(
                    req.example.id,
                    st.rounds,
                    "editor:no_flip" if st.tried else "editor:no_edit",
                    detail,
                    candidate=best[0] if best else None,
                    teacher_probs=[float(x) for x in best[1][1]] if best else None,
                )
            )
        return out

    # -- search -----------------------------------------------------------------------------
    def _add_saliency(self, states: list[State], verifier) -> None:
        sal = verifier.word_saliency(
            [s.request.example.text for s in states],
            [s.tokens for s in states],
            [s.request.teacher_label for s in states],
            [s.target for s in states],
        )
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
            if text not in seen and text != st.request.example.text and has_words(text):
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
        raw: list[ProposedEdit] = []
        if widen:
            raw = self._salient_word_edits(st, every=True) + self._mined_edits(st, every=True)
        elif self.kind == "acceptability":
            raw = self._grammar_edits(st)
        else:  # negation and antonym moves (with a sentiment lexicon only for sentiment tasks), plus mined edits
            raw = self._sentiment_edits(st) + self._mined_edits(st)
        cands: dict[tuple, Cand] = {}
        want_fluent = not (self.kind == "acceptability" and st.sign > 0)  # making it unacceptable is the point
        for edit, weight, op, focus in raw:
            if edit.start >= st.visible:
                continue  # past the teacher's max_length: it would never see the edit
            if (
                self.ecfg.pos_consistent
                and op in ("antonym", "polarity-swap")
                and edit.end - edit.start == 1
                and len(edit.new) == 1
                and not pos_consistent(self.lexicon, lower[edit.start], edit.new[0])
            ):
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
            prior = (
                weight
                + self.ecfg.saliency_weight * self._sal(st, focus)
                - 0.25 * (edit.cost - 1)
                + (self.ecfg.fluency_prior * fl if want_fluent else 0.0)
            )
            key = (edit.start, edit.end, edit.new)
            if key not in cands or cands[key].prior < prior:
                cands[key] = Cand((edit,), prior, fl, (op,), focus)
        del lex
        return sorted(cands.values(), key=lambda c: -c.prior)
