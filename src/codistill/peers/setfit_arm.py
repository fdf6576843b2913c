"""The SetFit arm of a sweep: SetFit on a distillation run's own training set, scored like it.

The training set is :func:`codistill.distill.trainset.build_train_set` of the run's
:class:`~codistill.distill.config.DistillConfig`: the same nested class-balanced k-shot draw
(same seed), and with ``cod`` the same attached, teacher-verified counterfactuals with the
teacher's labels. The encoder is the student's (``setfit.encoder``, else ``student.path``,
else MiniLM-L6).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codistill import __version__
from codistill.distill.config import DistillConfig
from codistill.distill.session import DistillSession, default_session
from codistill.training.setfit_train import DEFAULT_ENCODER, SetFitConfig, fit_setfit


@dataclass
class PeerResult:
    metrics: dict[str, Any]
    timings: dict[str, float]
    model: Any = field(default=None, repr=False)  # the trained setfit.SetFitModel


def peer_encoder(config: DistillConfig, setfit: SetFitConfig) -> str:
    return setfit.encoder or config.student.path or DEFAULT_ENCODER


def score_examples(
    model: Any, tokenizer: Any, signals: Any, examples: list, max_length: int, batch_size: int
) -> dict[str, Any]:
    """Accuracy, macro-F1, MCC, and with a teacher agreement, KL and ECE (codistill's scoring)."""
    from codistill.distill.evaluate import LABEL_METRICS, score_split
    from codistill.evaluation import label_metrics, predict_logits

    if signals is not None:
        return score_split(model, tokenizer, signals, examples, max_length=max_length, batch_size=batch_size)
    logits = predict_logits(model, tokenizer, [e.text for e in examples], batch_size=batch_size, max_length=max_length)
    return {
        **label_metrics(np.array([e.label for e in examples]), logits.argmax(-1), LABEL_METRICS),
        "n": len(examples),
    }


def run_setfit(
    config: DistillConfig,
    setfit: SetFitConfig | None = None,
    *,
    session: DistillSession | None = None,
    save_dir: Path | None = None,
) -> PeerResult:
    """SetFit on ``config``'s training set (``cod`` picks the CoD set), scored on validation and test."""
    from codistill.distill.trainset import build_train_set
    from codistill.models.setfit_model import wrap_setfit
    from codistill.utils.seed import seed_everything

    setfit = setfit or SetFitConfig()
    session = session or default_session()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    data = session.data(config.data)
    signals = (
        session.teacher(config.teacher, config.teacher_max_length, config.signals_cache, data.num_labels)
        if config.teacher
        else None
    )
    records = session.counterfactuals(config.counterfactuals) if config.cod and config.counterfactuals else None
    train_seed = config.seed + config.train.seed  # the KD arm's training seed
    seed_everything(train_seed)
    train = build_train_set(config, data, signals, records)
    timings["load"] = time.perf_counter() - t0
    encoder = peer_encoder(config, setfit)
    t1 = time.perf_counter()
    model = fit_setfit(encoder, train.texts, train.labels, setfit, train_seed, data.task.label_names)
    timings["train"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    classifier, tokenizer = wrap_setfit(model), model.model_body.tokenizer
    classifier.eval()
    max_length = int(setfit.max_length or model.model_body.max_seq_length)
    batch = config.eval.batch_size
    results = {"validation": score_examples(classifier, tokenizer, signals, data.validation, max_length, batch)}
    if config.eval.test:
        results["test"] = score_examples(classifier, tokenizer, signals, data.test, max_length, batch)
    timings["evaluate"] = time.perf_counter() - t2
    if save_dir is not None:
        model.save_pretrained(str(save_dir))
    timings["total"] = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "task": data.task.name,
        "method": "setfit+cod" if config.cod else "setfit",
        "k": config.k,
        "seed": config.seed,
        "cod": config.cod,
        **results,
        "train_set": train.report | {"size": len(train.items), "ids": [e.id for e in train.originals]},
        "train_texts": len(train.items),
        "setfit": setfit.to_dict() | {"encoder": encoder},
        "teacher": config.teacher,
        "teacher_fingerprint": signals.fingerprint if signals is not None else None,
        "data_fingerprint": data.fingerprint,
        "codistill_version": __version__,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    return PeerResult(metrics, timings, model)
