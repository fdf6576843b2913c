"""A SetFit-style contrastive stage for pooled students, run before knowledge distillation.

Pairs of training texts are drawn per text: positives share the teacher's label (cosine target 1);
negatives have different teacher labels (target 0), and an original's counterfactual, a minimal
edit that flips the teacher, is the first negative of both texts (the hardest negative a
contrastive stage can get). The loss is sentence-transformers' CosineSimilarityLoss: the squared
error between the cosine of the two pooled embeddings and the target. Pair sampling and training
are seeded: one seed gives the same weights on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codistill.distill.config import ContrastiveConfig
from codistill.distill.trainset import TrainSet


@dataclass(frozen=True)
class PairSet:
    a: np.ndarray  # text indices
    b: np.ndarray
    target: np.ndarray  # 1.0 positive, 0.0 negative
    counterfactual_negatives: int


def pair_counts(n_texts: int, total: int) -> list[int]:
    """``total`` pairs spread over ``n_texts`` anchors as evenly as possible (the first ones get one more)."""
    base, extra = divmod(total, n_texts)
    return [base + (i < extra) for i in range(n_texts)]


def sample_pairs(
    label_ids: Sequence[int], partners: Sequence[Sequence[int]], counts: Sequence[int], seed: int
) -> PairSet:
    """``counts[i]`` pairs anchored at text i (half positive, half negative; partners with another label first)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(label_ids)
    a: list[int] = []
    b: list[int] = []
    target: list[float] = []
    cf_neg = 0
    for i, label in enumerate(labels):
        n_pos = counts[i] // 2
        n_neg = counts[i] - n_pos
        same = np.flatnonzero((labels == label) & (np.arange(len(labels)) != i))
        other = np.flatnonzero(labels != label)
        hard = [j for j in partners[i] if labels[j] != label]
        for _ in range(n_pos if len(same) else 0):
            a.append(i)
            b.append(int(rng.choice(same)))
            target.append(1.0)
        for k in range(n_neg if len(other) else 0):
            # every other negative is the counterfactual partner, when the teacher says it flips
            j = hard[(k // 2) % len(hard)] if hard and k % 2 == 0 else int(rng.choice(other))
            cf_neg += int(bool(hard) and k % 2 == 0)
            a.append(i)
            b.append(j)
            target.append(0.0)
    return PairSet(np.array(a, dtype=np.int64), np.array(b, dtype=np.int64), np.array(target, dtype=np.float32), cf_neg)


def contrastive_stage(
    student: Any,
    tokenizer: Any,
    train: TrainSet,
    teacher_labels: Sequence[int],
    config: ContrastiveConfig,
    *,
    max_length: int,
    seed: int,
    budget_texts: int | None = None,
    train_embeddings: bool = False,
) -> dict[str, Any]:
    """Train ``student``'s encoder (not its head; the word-embedding matrix only if
    ``train_embeddings``) on contrastive pairs of ``train``'s texts. Returns a report.

    ``budget_texts`` (the run's k) sets the number of pairs, ``pairs_per_text x budget_texts``,
    spread over every training text: every arm of the same k takes the same number of steps,
    whatever share of its texts are counterfactuals (default: the number of originals)."""
    import torch
    from tqdm.auto import tqdm

    groups = train.groups()
    partners: list[list[int]] = [[] for _ in train.items]
    for group in groups:
        for i in group:
            partners[i] = [j for j in group if j != i]
    # the pair budget follows the originals, not the texts: KD and KD+CoD take the same number of steps
    counts = pair_counts(len(train.items), config.pairs_per_text * (budget_texts or len(train.originals)))
    pairs = sample_pairs(list(teacher_labels), partners, counts, seed)
    if not len(pairs.a):
        return {"pairs": 0, "steps": 0}
    frozen = {id(student.get_input_embeddings().weight)} if not train_embeddings else set()
    params = [p for p in student.encoder.parameters() if p.requires_grad and id(p) not in frozen]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    texts = train.texts
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout
    was_training = student.training
    student.train()
    losses: list[float] = []
    steps = 0
    for _ in range(config.epochs):
        order = torch.randperm(len(pairs.a), generator=gen).numpy()
        for start in tqdm(range(0, len(order), config.batch_size), desc="contrastive", leave=False, disable=None):
            idx = order[start : start + config.batch_size]
            u = _embed(student, tokenizer, [texts[i] for i in pairs.a[idx]], max_length)
            v = _embed(student, tokenizer, [texts[i] for i in pairs.b[idx]], max_length)
            cosine = torch.nn.functional.cosine_similarity(u, v, dim=-1)
            loss = torch.nn.functional.mse_loss(cosine, torch.from_numpy(pairs.target[idx]).to(cosine.device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            steps += 1
    student.train(was_training)
    optimizer.zero_grad(set_to_none=True)
    return {
        "pairs": len(pairs.a),
        "budget_pairs": int(sum(counts)),  # pairs asked for; fewer when a label has no partner
        "positives": int(pairs.target.sum()),
        "counterfactual_negatives": pairs.counterfactual_negatives,
        "steps": steps,
        "first_loss": round(losses[0], 5),
        "last_loss": round(float(np.mean(losses[-max(1, len(losses) // 10) :])), 5),
    }


def _embed(student: Any, tokenizer: Any, texts: list[str], max_length: int) -> Any:
    device = next(student.parameters()).device
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)
    return student.embed(**enc)[0]
