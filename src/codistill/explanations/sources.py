"""Where rationales come from.

* ``teacher`` (offline): the task teacher's most salient words for its own prediction (gradient x
  input where the teacher exposes it, else occlusion: how much removing each word lowers the
  teacher's probability of its label), content words only.
* ``openai`` / ``hf-chat``: an LLM quotes the evidence for the teacher's label, optionally
  critiques its answer and revises it. Calls go through the counterfactual generators' ``chat``,
  so they share the response cache, the ledger and the spending limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from codistill.counterfactuals.text import Token, tokenize
from codistill.explanations.render import render_rationale
from codistill.utils.hashing import fingerprint
from codistill.utils.secrets import carries_secret

SYSTEM = "You explain the decisions of a text classifier. Be brief and faithful to the text; quote it exactly."
RATIONALE = (
    "Text: {text}\nThe classifier's label: {label}.\n"
    "Quote at most {n} words or short phrases of the text that most support this label, as a comma-separated list of "
    'quoted phrases, e.g. "dull", "a waste of time". Reply with the list only.'
)
CRITIQUE = (
    "Text: {text}\nLabel: {label}.\nProposed evidence: {rationale}\n"
    "Critique the evidence in one sentence: is every phrase quoted from the text, and does each support the label?"
)
REVISION = "Critique: {critique}\nGive the corrected evidence as a comma-separated list of quoted phrases from the text. Reply with the list only."
PROMPT_HASH = fingerprint(
    {"system": SYSTEM, "rationale": RATIONALE, "critique": CRITIQUE, "revision": REVISION}, length=12
)


def _stopwords() -> set[str]:
    from codistill.counterfactuals.generators.editor_words import STOPWORDS

    return set(STOPWORDS)


def occlusion_saliency(
    verifier: Any, texts: Sequence[str], tokens: Sequence[Sequence[Token]], labels: Sequence[int]
) -> list[np.ndarray]:
    """Per word: p(label | text) - p(label | text without the word), one batched teacher call."""
    variants, owners = [], []
    for i, (text, toks) in enumerate(zip(texts, tokens)):
        variants.append(text)
        owners.append((i, -1))
        for j, t in enumerate(toks):
            variants.append((text[: t.start] + text[t.end :]).strip())
            owners.append((i, j))
    probs = verifier.probs(variants)
    base = {i: probs[n][labels[i]] for n, (i, j) in enumerate(owners) if j < 0}
    out = [np.zeros(len(t)) for t in tokens]
    for n, (i, j) in enumerate(owners):
        if j >= 0:
            out[i][j] = base[i] - probs[n][labels[i]]
    return out


def salient_words(verifier: Any, texts: Sequence[str], labels: Sequence[int], n: int) -> tuple[list[list[str]], str]:
    """The ``n`` most salient content words per text (those pushing the teacher towards its label
    first), and the saliency method used."""
    tokens = [tokenize(t) for t in texts]
    if hasattr(verifier, "word_saliency"):
        scores, method = verifier.word_saliency(texts, tokens, labels), "gradient_x_input"
    else:
        scores, method = occlusion_saliency(verifier, texts, tokens, labels), "occlusion"
    stop = _stopwords()
    out = []
    for toks, sc in zip(tokens, scores):
        ranked = sorted(
            (
                (float(s), j)
                for j, s in enumerate(sc)
                if re.match(r"[a-z]", toks[j].lower) and toks[j].lower not in stop
            ),
            key=lambda x: -x[0],
        )
        supporting = [j for s, j in ranked if s > 0] or [j for _, j in ranked[:1]]
        chosen: list[str] = []
        for j in supporting:
            if toks[j].text not in chosen:
                chosen.append(toks[j].text)
            if len(chosen) == n:
                break
        out.append(chosen)
    return out, method


def parse_phrases(reply: str, text: str, n: int) -> list[str]:
    """Quoted phrases of an LLM reply that occur in the text (case-insensitive), at most ``n``."""
    quoted = re.findall(r'"([^"]+)"', reply) or [p.strip(" .'\"") for p in reply.split("\n", 1)[0].split(",")]
    low = text.lower()
    out = []
    for p in quoted:
        p = p.strip()
        if p and p.lower() in low and p not in out:
            out.append(p)
    return out[:n]


class LLMRationales:
    """Rationale (+ critique + revision) for each (text, teacher label) from a chat generator."""

    def __init__(self, generator: Any, label_names: Sequence[str], n: int, critique: bool, revise: bool) -> None:
        self.generator, self.names, self.n, self.do_critique, self.do_revise = (
            generator,
            list(label_names),
            n,
            critique,
            revise,
        )

    def _messages(self, text: str, label: int) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": RATIONALE.format(text=text, label=self.names[label], n=self.n)},
        ]

    def explain(self, texts: Sequence[str], labels: Sequence[int]) -> list[dict[str, Any]]:
        convs = [self._messages(t, y) for t, y in zip(texts, labels)]
        drafts = self.generator.chat(convs, "rationale")
        out: list[dict[str, Any]] = []
        for text, y, d in zip(texts, labels, drafts):
            phrases = parse_phrases(d.raw, text, self.n) if not d.error else []
            out.append(
                {
                    "draft": d.raw,
                    "error": d.error,
                    "evidence": phrases,
                    "cost_usd": d.cost_usd,
                    "rationale": render_rationale(self.names[y], phrases) if phrases else None,
                    "critique": None,
                    "revision": None,
                }
            )
        if not self.do_critique:
            return out
        todo = [i for i, o in enumerate(out) if o["rationale"]]
        crit = self.generator.chat(
            [
                [
                    {"role": "system", "content": SYSTEM},
                    {
                        "role": "user",
                        "content": CRITIQUE.format(
                            text=texts[i], label=self.names[labels[i]], rationale=out[i]["rationale"]
                        ),
                    },
                ]
                for i in todo
            ],
            "critique",
        )
        for i, c in zip(todo, crit):
            # a reply echoing the key is the endpoint's fault, never a critique
            out[i]["critique"] = (c.raw.strip() or None) if not c.error and not carries_secret(c.raw) else None
            out[i]["cost_usd"] += c.cost_usd
        if not self.do_revise:
            return out
        todo = [i for i in todo if out[i]["critique"]]
        revs = self.generator.chat(
            [
                [
                    *self._messages(texts[i], labels[i]),
                    {"role": "assistant", "content": out[i]["draft"]},
                    {"role": "user", "content": REVISION.format(critique=out[i]["critique"])},
                ]
                for i in todo
            ],
            "revision",
        )
        for i, r in zip(todo, revs):
            out[i]["cost_usd"] += r.cost_usd
            phrases = parse_phrases(r.raw, texts[i], self.n) if not r.error else []
            if phrases:
                out[i]["revision"] = render_rationale(self.names[labels[i]], phrases)
                out[i]["evidence"] = phrases
        return out
