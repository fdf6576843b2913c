"""Scoring a student against gold labels and against its teacher (one JSON-able record)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from codistill.data.schema import Example
from codistill.distill.signals import TeacherSignals
from codistill.evaluation import fidelity_metrics, flip_consistency, label_metrics, predict_logits
from codistill.evaluation.contrast import ContrastPair, contrast_metrics, read_contrast
from codistill.evaluation.metrics import class_report

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

LABEL_METRICS = ("accuracy", "macro_f1", "mcc")


def _logits(
    student: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    signals: TeacherSignals,
    examples: Sequence[Example],
    max_length: int,
    batch_size: int,
) -> tuple[Any, Any]:
    """(teacher logits, student logits) on the examples' texts."""
    texts = [e.text for e in examples]
    s_logits = predict_logits(student, tokenizer, texts, batch_size=batch_size, max_length=max_length, sharded=True)
    return signals.logits(texts), s_logits


def score_split(
    student: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    signals: TeacherSignals,
    examples: Sequence[Example],
    *,
    max_length: int,
    batch_size: int = 128,
) -> dict[str, Any]:
    """Accuracy, macro-F1, MCC, agreement, KL(teacher || student), ECE; plus the teacher's own
    label metrics on the same examples for reference."""
    labels = np.array([e.label for e in examples])
    t_logits, s_logits = _logits(student, tokenizer, signals, examples, max_length, batch_size)
    num_labels = int(s_logits.shape[-1])
    out: dict[str, Any] = label_metrics(labels, s_logits.argmax(-1), LABEL_METRICS, num_labels)
    out.update(fidelity_metrics(t_logits, s_logits, labels))
    out.update(class_report(labels, s_logits.argmax(-1), num_labels))
    out["teacher"] = {
        **label_metrics(labels, t_logits.argmax(-1), LABEL_METRICS, num_labels),
        **class_report(labels, t_logits.argmax(-1), num_labels),
    }
    out["n"] = len(examples)
    return out


UNLABELED_SCOPE = "all unlabeled texts; the teacher labelled them and the student was also trained on them (KD)"


def score_agreement(
    student: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    signals: TeacherSignals,
    examples: Sequence[Example],
    *,
    max_length: int,
    batch_size: int = 128,
    scope: str = UNLABELED_SCOPE,
) -> dict[str, Any]:
    """Agreement with the teacher and KL(teacher || student) on texts without gold labels; ``scope``
    says which texts they are (``n`` how many)."""
    t_logits, s_logits = _logits(student, tokenizer, signals, examples, max_length, batch_size)
    return {**fidelity_metrics(t_logits, s_logits), "n": len(examples), "texts": scope}


def score_pairs(
    student: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    signals: TeacherSignals,
    pairs: Sequence[tuple[str, str]],
    *,
    max_length: int,
    batch_size: int = 128,
) -> dict[str, Any] | None:
    """Flip consistency of the student on (original, counterfactual) text pairs."""
    if not pairs:
        return None
    originals, cfs = [p[0] for p in pairs], [p[1] for p in pairs]
    s = predict_logits(
        student, tokenizer, originals + cfs, batch_size=batch_size, max_length=max_length, sharded=True
    ).argmax(-1)
    t = signals.logits(originals + cfs).argmax(-1)
    n = len(pairs)
    return flip_consistency(t[:n], t[n:], s[:n], s[n:])


def score_contrast(
    student: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    signals: TeacherSignals,
    pairs: Sequence[ContrastPair],
    source: str,
    *,
    max_length: int,
    batch_size: int = 128,
) -> dict[str, Any]:
    """Student (and teacher) on gold contrast pairs: accuracy on originals, counterfactuals,
    pair consistency; against gold and against the teacher (see :mod:`codistill.evaluation.contrast`)."""
    texts = [p.original for p in pairs] + [p.counterfactual for p in pairs]
    n = len(pairs)
    s = predict_logits(student, tokenizer, texts, batch_size=batch_size, max_length=max_length).argmax(-1)
    t = signals.logits(texts).argmax(-1)
    return {**contrast_metrics(pairs, s[:n], s[n:], t[:n], t[n:]), "source": source}


def evaluate(config: Any, *, session: Any = None) -> dict[str, Any]:
    """``codistill evaluate``: score a saved student (an :class:`EvaluateConfig`) as one record."""
    from codistill.distill.session import default_session
    from codistill.distill.trainset import heldout_pairs
    from codistill.models import load_scorer
    from codistill.models.loading import quiet_transformers

    quiet_transformers()
    session = session or default_session()
    data = session.data(config.data)
    contrast = (
        read_contrast(config.contrast, data.task.label_names) if config.contrast else None
    )  # fail before loading models
    signals = session.teacher(config.teacher, config.teacher_max_length, config.signals_cache, data.num_labels)
    # a merged student, a saved LoRA adapter or even a verbalizer LM can be scored
    student, tokenizer, student_fingerprint = load_scorer(config.student, num_labels=data.num_labels, role="student")
    examples = data.split(config.split)
    record: dict[str, Any] = {
        "task": data.task.name,
        "student": config.student,
        "student_fingerprint": student_fingerprint,
        "teacher": config.teacher,
        "teacher_fingerprint": signals.fingerprint,
        "split": config.split,
        config.split: score_split(
            student, tokenizer, signals, examples, max_length=config.max_length, batch_size=config.batch_size
        ),
    }
    if config.counterfactuals:
        pairs = heldout_pairs(session.counterfactuals(config.counterfactuals), data, set(), limit=10**9)
        scored = score_pairs(
            student, tokenizer, signals, pairs, max_length=config.max_length, batch_size=config.batch_size
        )
        if scored:
            record["counterfactual_pairs"] = {**scored, "source": config.counterfactuals}
    if contrast:
        record["contrast"] = score_contrast(
            student,
            tokenizer,
            signals,
            contrast,
            config.contrast,
            max_length=config.max_length,
            batch_size=config.batch_size,
        )
    return record
