"""Fluency scorers.

``NGramLM`` is a Kneser-Ney-smoothed bigram model trained in a second on the task's own pool. The
editor scores thousands of candidate edits with it, so it has to cost microseconds; it uses a
SLOR-style score (log P(bigram) - log P(unigram)) so a rare but fine word is not punished for
being rare, while "it not embraces" is (P(not | it) and P(embraces | not) are tiny).

``CausalLMScorer`` measures perplexity under a small causal LM (e.g. the packaged
SmolLM2-135M-Instruct); the quality report uses it when asked.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from codistill.counterfactuals.text import words

BOS, EOS = "<s>", "</s>"


class NGramLM:
    def __init__(self, texts: Iterable[str], discount: float = 0.75) -> None:
        self.discount = discount
        self.bigrams: Counter[tuple[str, str]] = Counter()
        self.unigrams: Counter[str] = Counter()
        for text in texts:
            toks = [BOS, *words(text), EOS]
            self.unigrams.update(toks[1:])
            self.bigrams.update(zip(toks, toks[1:]))
        self.context_count: Counter[str] = Counter()
        self.followers: Counter[str] = Counter()
        continuation: Counter[str] = Counter()
        for (a, b), c in self.bigrams.items():
            self.context_count[a] += c
            self.followers[a] += 1
            continuation[b] += 1
        total_types = max(1, len(self.bigrams))
        self.vocab_size = len(self.unigrams) + 1
        # continuation probabilities with add-one over an unseen-word slot
        self.p_cont = {w: (c + 1) / (total_types + self.vocab_size) for w, c in continuation.items()}
        self.p_unk = 1 / (total_types + self.vocab_size)
        n = sum(self.unigrams.values()) + self.vocab_size
        self.log_uni = defaultdict(
            lambda: math.log(1 / n), {w: math.log((c + 1) / n) for w, c in self.unigrams.items()}
        )

    def __contains__(self, word: str) -> bool:
        return word in self.unigrams

    def logp(self, prev: str, word: str) -> float:
        pc = self.p_cont.get(word, self.p_unk)
        ctx = self.context_count.get(prev, 0)
        if not ctx:
            return math.log(pc)
        c = self.bigrams.get((prev, word), 0)
        lam = self.discount * self.followers[prev] / ctx
        return math.log(max(c - self.discount, 0) / ctx + lam * pc)

    def slor(self, tokens: Sequence[str]) -> float:
        """Sum over bigrams of log P(w | prev) - log P(w): high = fluent for its words."""
        toks = [BOS, *tokens, EOS]
        return sum(self.logp(a, b) - (self.log_uni[b] if b != EOS else 0.0) for a, b in zip(toks, toks[1:]))

    def delta(self, old: Sequence[str], new: Sequence[str], start: int, old_end: int, new_end: int) -> float:
        """SLOR change of an edit of ``old[start:old_end]`` into ``new[start:new_end]``, computed on
        the edited window and its two neighbours only (the rest of the sentence is unchanged)."""

        def window(tokens: Sequence[str], a: int, b: int) -> float:
            toks = [BOS, *tokens, EOS]
            lo, hi = a, min(len(toks) - 1, b + 1)  # bigrams ending at positions a+1 .. b+1 (shifted by BOS)
            return sum(
                self.logp(toks[i], toks[i + 1]) - (self.log_uni[toks[i + 1]] if toks[i + 1] != EOS else 0.0)
                for i in range(lo, hi)
            )

        return window(new, start, new_end) - window(old, start, old_end)

    def new_bigrams(self, new: Sequence[str], start: int, new_end: int) -> list[float]:
        """SLOR of each bigram of ``new`` that involves an edited position ``[start, new_end)``
        (for a deletion, the bigram that now spans the gap); the end-of-text bigram is left out
        because SST-2-style phrases end anywhere."""
        toks = [BOS, *new]
        lo, hi = start, min(len(toks) - 1, new_end + 1)  # bigram i is (toks[i], toks[i+1])
        return [
            self.logp(toks[i], toks[i + 1]) - self.log_uni[toks[i + 1]]
            for i in range(lo, max(hi, lo + 1))
            if i + 1 < len(toks)
        ]

    def perplexity(self, text: str) -> float:
        toks = [BOS, *words(text), EOS]
        lp = sum(self.logp(a, b) for a, b in zip(toks, toks[1:]))
        return math.exp(-lp / max(1, len(toks) - 1))


class CausalLMScorer:
    """Per-text perplexity under a causal LM (batched, CPU-friendly)."""

    def __init__(self, model: str = "smollm2-135m-instruct", batch_size: int = 16) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from codistill.models import load_tokenizer, resolve_model

        ref = resolve_model(model)
        self.name = model
        self.tokenizer = load_tokenizer(ref)
        self.model = AutoModelForCausalLM.from_pretrained(
            ref.path, dtype=torch.float32, **ref.pretrained_kwargs()
        ).eval()
        self.tokenizer.padding_side = "right"  # positions must start at 0 for every text
        self.batch_size = batch_size

    def perplexities(self, texts: Sequence[str]) -> list[float]:
        import torch

        out: list[float] = []
        tok = self.tokenizer
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            prefix = tok.bos_token or tok.eos_token or ""
            enc = tok([prefix + t for t in batch], return_tensors="pt", padding=True, truncation=True, max_length=128)
            with torch.inference_mode():
                logits = self.model(**enc).logits[:, :-1].float()
            target = enc["input_ids"][:, 1:]
            mask = enc["attention_mask"][:, 1:].float()
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
            per_text = (nll * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.extend(math.exp(float(x)) for x in per_text)
        return out
