"""The goal function: the teacher decides.

A candidate counts only if the teacher's prediction on it differs from its prediction on the
original; the counterfactual's label is the teacher's prediction, never the generator's intent.
``Verifier`` is the interface (anything that maps texts to class probabilities); ``TeacherVerifier``
wraps a Hugging Face sequence classifier or a verbalizer-scored causal LM and batches every check into as few forward passes as
possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from codistill.counterfactuals.text import Token


class Verifier(Protocol):
    name: str
    fingerprint: str
    calls: int  # texts scored, for the report

    def probs(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Verdict:
    text: str
    probs: tuple[float, ...]
    label: int
    flipped: bool

    def target_prob(self, target: int) -> float:
        return self.probs[target]


def judge(texts: Sequence[str], probs: np.ndarray, original_label: int) -> list[Verdict]:
    labels = probs.argmax(axis=1)
    return [Verdict(t, tuple(float(x) for x in p), int(lab), int(lab) != original_label) for t, p, lab in zip(texts, probs, labels)]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TeacherVerifier:
    """A fine-tuned sequence classifier as the judge of every candidate."""

    def __init__(self, teacher: str, *, batch_size: int = 64, max_length: int | None = None, threads: int | None = None) -> None:
        import torch

        from codistill.models import load_scorer
        from codistill.models.loading import quiet_transformers
        from codistill.teacher.meta import teacher_max_length

        quiet_transformers()
        if threads:
            torch.set_num_threads(threads)
        self.name = teacher
        # a classifier, a LoRA adapter or a verbalizer LM (its prompt tokenizer maps offsets back
        # to the text, so word saliency works for all three)
        self.model, self.tokenizer, self.fingerprint = load_scorer(teacher, role="teacher")
        self.model.eval()
        self.batch_size = batch_size
        # the length the teacher was trained with (or the one override), as distillation uses
        self.max_length = teacher_max_length(teacher, max_length)
        self.calls = 0

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        from codistill.evaluation import predict_logits

        self.calls += len(texts)
        logits = predict_logits(self.model, self.tokenizer, list(texts), batch_size=self.batch_size, max_length=self.max_length)
        return softmax(logits.astype(np.float64))

    def word_saliency(self, texts: Sequence[str], tokens: Sequence[Sequence[Token]], labels: Sequence[int]) -> list[np.ndarray]:
        """Gradient x input of (logit[label] - logit[other]) per word: how much each word pushes
        the teacher towards its current prediction (positive = supports it)."""
        import torch

        out: list[np.ndarray] = []
        embed = self.model.get_input_embeddings()
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt", return_offsets_mapping=True)
            offsets = enc.pop("offset_mapping").numpy()
            inputs = embed(enc["input_ids"]).detach().requires_grad_(True)
            kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
            logits = self.model(inputs_embeds=inputs, **kwargs).logits
            lab = torch.tensor(labels[start : start + len(batch)])
            margin = logits.gather(1, lab[:, None]).squeeze(1) - logits.gather(1, (1 - lab)[:, None]).squeeze(1)
            (grad,) = torch.autograd.grad(margin.sum(), inputs)
            scores = (grad * inputs).sum(-1).detach().numpy()
            self.calls += len(batch)
            for b, toks in enumerate(tokens[start : start + len(batch)]):
                per_word = np.zeros(len(toks))
                spans = np.array([(t.start, t.end) for t in toks]) if toks else np.zeros((0, 2))
                for (a, e), s in zip(offsets[b], scores[b]):
                    if e <= a or not len(spans):
                        continue  # special or padding token
                    hit = np.nonzero((spans[:, 0] < e) & (spans[:, 1] > a))[0]
                    if len(hit):
                        per_word[hit[0]] += s
                out.append(per_word)
        return out
