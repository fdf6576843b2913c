"""``codistill teacher --method setfit``: a teacher fitted by SetFit on the k labelled texts alone.

For a user who holds only k texts: the k-shot draw is codistill's nested class-balanced sampler
(seeded by ``train.seed``, so a student run with the same k and seed trains on the same texts),
the encoder is ``model`` (e.g. ``mpnet-base``), and the saved directory is a SetFit model
(sentence-transformers body + ``model_head.pkl``, loadable by ``setfit.SetFitModel``) with
codistill's ``teacher_config.yaml``, ``metrics.json`` and model card. codistill reads it as any
teacher (:mod:`codistill.models.setfit_model`): logits whose softmax is SetFit's
``predict_proba``, at the ``train.max_length`` it was fitted with.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from codistill import __version__
from codistill.data import TaskData, sample
from codistill.teacher.config import TeacherConfig
from codistill.utils.io import atomic_write_json


def train_setfit_teacher(config: TeacherConfig, data: TaskData, key: str, out: Path) -> Any:
    """Fit, score on validation and test, save; returns a :class:`~codistill.teacher.finetune.TeacherResult`."""
    from codistill.evaluation import label_metrics, predict_logits
    from codistill.models.setfit_model import wrap_setfit
    from codistill.teacher.finetune import METRICS_FILE, TeacherResult
    from codistill.teacher.fit import chance_warnings, subsample
    from codistill.training.setfit_train import fit_setfit, require_setfit
    from codistill.utils.io import atomic_directory

    require_setfit()
    tc = config.train
    max_length = config.setfit.max_length or tc.max_length
    setfit = config.setfit.model_copy(update={"max_length": max_length})
    started = time.perf_counter()
    shots = list(sample(data, config.k, tc.seed).examples)
    model = fit_setfit(
        config.model, [e.text for e in shots], [e.label for e in shots], setfit, tc.seed, data.task.label_names
    )
    train_seconds = time.perf_counter() - started
    classifier, tokenizer = wrap_setfit(model), model.model_body.tokenizer
    classifier.eval()
    warnings: list[str] = []

    def score(examples: list, split: str) -> dict[str, float]:
        logits = predict_logits(
            classifier,
            tokenizer,
            [e.text for e in examples],
            batch_size=tc.eval_batch_size,
            max_length=max_length,
            progress=split,
        )
        if split == "validation":
            warnings.extend(chance_warnings([e.label for e in examples], logits.argmax(-1), data.num_labels))
        return label_metrics([e.label for e in examples], logits.argmax(-1), data.task.metrics)

    metrics = {
        "fingerprint": key,
        "task": data.task.name,
        "model": config.model,
        "method": "setfit",
        "validation": score(subsample(data.validation, config.max_eval_examples, tc.seed), "validation"),
        "test": score(subsample(data.test, config.max_eval_examples, tc.seed), "test"),
        "train_examples": len(shots),
        "train_ids": [e.id for e in shots],
        "max_length": setfit.max_length,
        "setfit": setfit.to_dict(),
        "train_steps": 0,
        "selected_step": None,
        "train_seconds": round(train_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "data_fingerprint": data.fingerprint,
        "data_source": data.source,
        "codistill_version": __version__,
        "warnings": warnings,
    }
    with atomic_directory(out, "teacher") as tmp:
        model.save_pretrained(str(tmp))  # the SetFit directory: body, head, config_setfit.json, its own README
        config.model_copy(update={"setfit": setfit}).save(tmp / "teacher_config.yaml")
        atomic_write_json(tmp / METRICS_FILE, metrics)
    return TeacherResult(path=out, metrics=metrics, cached=False)
