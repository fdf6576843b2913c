"""The goal function: the teacher decides.

A candidate counts only if the teacher's prediction on it differs from its prediction on the
original; the counterfactual's label is the teacher's prediction, never the generator's intent.
``Verifier`` is the interface (anything that maps texts to class probabilities); ``TeacherVerifier``
wraps a Hugging Face sequence classifier or a verbalizer-scored causal LM and batches every check into as few forward passes as
possible.

Screening (``verify.screen_dtype: bf16``): ``ScreenedVerifier`` scores generator candidates with a
fast approximate copy of the teacher (re-scoring exactly those within ``screen_margin`` of the
boundary), and the generators' selection step has the exact teacher confirm each winning flip
before it is kept (the next flip on a veto), so every kept counterfactual, its label and its
probabilities come from the exact teacher. Generators ask for candidate scores through
:func:`candidate_probs`; originals are always scored exactly (``probs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from codistill.counterfactuals.config import CounterfactualConfig
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
    return [
        Verdict(t, tuple(float(x) for x in p), int(lab), int(lab) != original_label)
        for t, p, lab in zip(texts, probs, labels)
    ]


def candidate_probs(verifier: Verifier, texts: Sequence[str], original_labels: Sequence[int]) -> np.ndarray:
    """Class probabilities of generator candidates: screened where the verifier screens (see
    :class:`ScreenedVerifier`; its flips are unconfirmed until ``pick_confirmed``), else the
    verifier's exact ``probs``."""
    screened = getattr(verifier, "candidate_probs", None)
    return screened(texts, original_labels) if screened is not None else verifier.probs(texts)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TeacherVerifier:
    """A fine-tuned sequence classifier as the judge of every candidate."""

    def __init__(
        self,
        teacher: str,
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        threads: int | None = None,
        num_labels: int = 2,
    ) -> None:
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
        self.model, self.tokenizer, self.fingerprint = load_scorer(teacher, num_labels=num_labels, role="teacher")
        self.model.eval()
        self.batch_size = batch_size
        # the length the teacher was trained with (or the one override), as distillation uses
        self.max_length = teacher_max_length(teacher, max_length)
        self.calls = 0

    def screening_copy(self, dtype: Literal["bf16"] = "bf16") -> TeacherVerifier:
        """The same teacher (tokenizer, length, fingerprint) with a bf16 copy of its weights: an
        approximate, inference-only scorer for :class:`ScreenedVerifier` (measured faster than
        ``torch.autocast`` on CPU; docs/results.md, "Speed")."""
        import copy

        import torch

        if dtype != "bf16":
            raise ValueError(f"unknown screening dtype {dtype!r} (bf16)")
        screen = copy.copy(self)
        screen.model = copy.deepcopy(self.model).to(torch.bfloat16).eval()
        screen.name, screen.calls = f"{self.name} ({dtype} screen)", 0
        return screen

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        from codistill.evaluation import predict_logits

        self.calls += len(texts)
        logits = predict_logits(
            self.model, self.tokenizer, list(texts), batch_size=self.batch_size, max_length=self.max_length
        )
        return softmax(logits.astype(np.float64))

    def word_saliency(
        self,
        texts: Sequence[str],
        tokens: Sequence[Sequence[Token]],
        labels: Sequence[int],
        targets: Sequence[int] | None = None,
    ) -> list[np.ndarray]:
        """Gradient x input of (logit[label] - logit[target]) per word: how much each word pushes
        the teacher towards its current prediction rather than the target class (positive =
        supports it); without targets, the most likely other class (two classes: the other one)."""
        import torch

        out: list[np.ndarray] = []
        embed = self.model.get_input_embeddings()
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            enc = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
                return_offsets_mapping=True,
            )
            offsets = enc.pop("offset_mapping").numpy()
            inputs = embed(enc["input_ids"]).detach().requires_grad_(True)
            kwargs = {k: v for k, v in enc.items() if k != "input_ids"}
            logits = self.model(inputs_embeds=inputs, **kwargs).logits
            lab = torch.tensor(labels[start : start + len(batch)])
            if targets is not None:
                other = torch.tensor(targets[start : start + len(batch)])
            else:
                other = logits.detach().scatter(1, lab[:, None], float("-inf")).argmax(dim=1)
            margin = logits.gather(1, lab[:, None]).squeeze(1) - logits.gather(1, other[:, None]).squeeze(1)
            (grad,) = torch.autograd.grad(margin.sum(), inputs)
            scores = (grad * inputs).sum(-1).detach().float().numpy()  # float: a bf16 screening copy
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


class ScreenedVerifier:
    """Candidates screened by a fast approximate teacher, the winners confirmed by the exact one.

    ``probs`` (originals) is the exact teacher's. ``candidate_probs`` scores with ``screen``;
    rows the screen calls flips come back with the screen's probabilities (unconfirmed: the
    generators' selection step confirms its winners with :meth:`confirm`, see
    ``generators.base.pick_confirmed``, and a veto there sends it to the next flip), and
    near-boundary non-flips (screened margin of the original's label over the best other label at
    most ``margin``) are re-scored exactly (an exact flip there is a rescue). Word saliency, which
    only orders the search, comes from the screen when ``saliency_from_screen``; anything else
    (tokenizer, length) is the exact teacher's.
    """

    def __init__(
        self, exact: Verifier, screen: Verifier, margin: float = 0.1, *, saliency_from_screen: bool = True
    ) -> None:
        if margin < 0:
            raise ValueError("the screening margin must be >= 0")
        self.exact, self.screen, self.margin, self.saliency_from_screen = exact, screen, margin, saliency_from_screen
        self.name, self.fingerprint = exact.name, exact.fingerprint
        self.stats = {"screened": 0, "screen_flips": 0, "confirmed": 0, "vetoed": 0, "rescored": 0, "rescued": 0}

    def __getattr__(self, attr: str) -> Any:  # word_saliency, tokenizer, max_length, model
        if attr in ("exact", "screen", "saliency_from_screen"):
            raise AttributeError(attr)
        if attr == "word_saliency" and self.saliency_from_screen and hasattr(self.screen, attr):
            return getattr(self.screen, attr)
        return getattr(self.exact, attr)

    @property
    def calls(self) -> int:
        return self.exact.calls + self.screen.calls

    def probs(self, texts: Sequence[str]) -> np.ndarray:
        return self.exact.probs(texts)

    def candidate_probs(self, texts: Sequence[str], original_labels: Sequence[int]) -> np.ndarray:
        probs = np.array(self.screen.probs(texts), dtype=np.float64)
        labels = np.asarray(original_labels, dtype=np.int64)
        rows = np.arange(len(probs))
        others = probs.copy()
        others[rows, labels] = -np.inf
        flips = probs.argmax(axis=1) != labels
        near = np.nonzero(~flips & (probs[rows, labels] - others.max(axis=1) <= self.margin))[0]
        self.stats["screened"] += len(probs)
        self.stats["screen_flips"] += int(flips.sum())
        if near.size:
            exact = np.asarray(self.exact.probs([texts[int(i)] for i in near]), dtype=np.float64)
            self.stats["rescored"] += int(near.size)
            self.stats["rescued"] += int((exact.argmax(axis=1) != labels[near]).sum())
            probs[near] = exact
        return probs

    def confirm(self, texts: Sequence[str], original_labels: Sequence[int]) -> np.ndarray:
        """The exact teacher's probabilities for screened flips (an argmax equal to the original's
        label is a veto)."""
        exact = np.asarray(self.exact.probs(texts), dtype=np.float64)
        self.stats["confirmed"] += len(texts)
        self.stats["vetoed"] += int((exact.argmax(axis=1) == np.asarray(original_labels)).sum())
        return exact

    def report(self) -> dict[str, Any]:
        """The counters, the screen's and the exact teacher's texts, and the veto rate of confirmed winners."""
        return {
            **self.stats,
            "screen_texts": self.screen.calls,
            "exact_texts": self.exact.calls,
            "margin": self.margin,
            "veto_rate": round(self.stats["vetoed"] / self.stats["confirmed"], 4) if self.stats["confirmed"] else None,
        }


def load_verifier(
    config: CounterfactualConfig, *, max_length: int | None, num_labels: int
) -> TeacherVerifier | ScreenedVerifier:
    """A run's ``config.teacher`` as its verifier, screened by a cheaper copy when ``verify.screen_dtype`` is set."""
    teacher = TeacherVerifier(
        config.teacher, batch_size=config.teacher_batch_size, max_length=max_length, num_labels=num_labels
    )
    if config.verify.screen_dtype == "none":
        return teacher
    return ScreenedVerifier(
        teacher,
        teacher.screening_copy(config.verify.screen_dtype),
        config.verify.screen_margin,
        saliency_from_screen=config.verify.screen_saliency,
    )
