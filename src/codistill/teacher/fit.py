"""The steps :func:`~codistill.teacher.finetune.train_teacher` runs for a fine-tuned (or prompted)
teacher: build and prepare the model, fit it with the best validation step kept, score it on
validation and test, and gather its metrics; each a function with a typed result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from codistill import __version__
from codistill.data import TaskData
from codistill.data.schema import Example
from codistill.teacher.config import TeacherConfig


def subsample(pool: list[Example], n: int | None, seed: int) -> list[Example]:
    """Class-stratified seeded subsample of ``n`` pool examples (pool order kept)."""
    if n is None or n >= len(pool):
        return pool
    rng = np.random.default_rng([seed, 7919])
    labels = np.array([e.label for e in pool])
    chosen: list[int] = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        take = int(round(n * len(idx) / len(pool)))
        chosen.extend(rng.permutation(idx)[:take].tolist())
    return [pool[i] for i in sorted(chosen)]


#: validation macro-F1 at or below this is "near chance" for a binary task (one class for
#: everything scores ~0.33-0.36, coin flips ~0.5)
NEAR_CHANCE_MACRO_F1 = 0.55


def chance_warnings(labels: Any, predictions: Any, num_labels: int) -> list[str]:
    """Warnings for a teacher whose validation predictions are near chance: counterfactuals it
    verifies and students distilled from it would be meaningless."""
    from codistill.evaluation import label_metrics

    predictions = np.asarray(predictions)
    f1 = label_metrics(list(labels), predictions.tolist(), ["macro_f1"], num_labels)["macro_f1"]
    chance = NEAR_CHANCE_MACRO_F1 if num_labels == 2 else 1.5 / num_labels
    used = len(np.unique(predictions))
    if used < num_labels or f1 <= chance:
        which = f"predicts only {used} of {num_labels} classes" if used < num_labels else "is near chance"
        return [
            f"this teacher {which} on validation (macro-F1 {f1:.2f}); counterfactuals and distillation from it "
            "would be meaningless: train longer, on more examples, or with a higher learning rate"
        ]
    return []


@dataclass
class TeacherSetup:
    """What fine-tuning starts from: the model ready to train, its tokenizer, the resolved
    verbalizer config (None for a classifier head) and the encoded train and validation sets."""

    model: Any
    tokenizer: Any
    verbalizer: Any
    train_set: Any
    val_set: Any


@dataclass
class TeacherFit:
    """The trained (or, not fine-tuned, the prompted) model in eval mode and how training went."""

    model: Any
    keep_best: Any
    train_output: Any  # None when the teacher is not fine-tuned
    started: float
    train_seconds: float


class TeacherScores(NamedTuple):
    validation: dict[str, float]
    test: dict[str, float]  # {} for own texts without a test split
    warnings: list[str]  # near-chance validation predictions


def prepare_teacher(config: TeacherConfig, ref: Any, data: TaskData) -> TeacherSetup:
    """The model (frozen parts as configured) and the pool examples it trains on, less the
    verbalizer's demonstrations, subsampled to ``max_train_examples``."""
    from codistill.training import EncodedDataset

    tc = config.train
    model, tokenizer, verbalizer = build_teacher_model(config, ref, data)
    if config.freeze_embeddings:
        from codistill.models.freeze import freeze_word_embeddings

        freeze_word_embeddings(model)
    if config.freeze_layers:
        from codistill.models.freeze import freeze_bottom_layers

        freeze_bottom_layers(model, config.freeze_layers)
    demo_texts = {d.text for d in verbalizer.demonstrations} if verbalizer else set()
    train = subsample([e for e in data.pool if e.text not in demo_texts], config.max_train_examples, tc.seed)
    train_set = EncodedDataset([e.text for e in train], tokenizer, tc.max_length, [e.label for e in train])
    val = data.validation
    val_set = EncodedDataset([e.text for e in val], tokenizer, tc.max_length, [e.label for e in val])
    return TeacherSetup(model, tokenizer, verbalizer, train_set, val_set)


def fit_teacher(config: TeacherConfig, setup: TeacherSetup, data: TaskData, workdir: Path, run_name: str) -> TeacherFit:
    """Train (when ``config.finetune``) with the weights of the best validation step kept
    (``train.select_best``); the model comes back in eval mode."""
    from transformers import Trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from codistill.evaluation import label_metrics
    from codistill.training import KeepBestCallback, PadCollator
    from codistill.training.callbacks import StepProgress
    from codistill.training.trackers import point_tensorboard

    tc, metric_names = config.train, data.task.metrics

    def compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        return label_metrics(prediction.label_ids, np.argmax(logits, -1), metric_names, data.num_labels)

    keep_best = KeepBestCallback(data.task.primary_metric)
    started = time.perf_counter()
    model, train_output = setup.model, None
    if config.finetune:
        trainer = Trainer(
            model=model,
            args=tc.trainer_arguments(str(workdir), len(setup.train_set), run_name=run_name),
            train_dataset=setup.train_set,
            eval_dataset=setup.val_set if tc.select_best else None,
            data_collator=PadCollator(setup.tokenizer),
            compute_metrics=compute_metrics,
            callbacks=([keep_best] if tc.select_best else []) + [StepProgress("fine-tuning teacher")],
        )
        # one bar with the latest loss instead of transformers' raw log dicts and nested eval bars;
        # the losses still reach the trackers and the trainer's log history
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        point_tensorboard(trainer, tc.resolved_logging_dir(run_name))
        train_output = trainer.train()
        model = trainer.model
    train_seconds = time.perf_counter() - started
    model.eval()
    return TeacherFit(model, keep_best, train_output, started, train_seconds)


def score_teacher(config: TeacherConfig, model: Any, tokenizer: Any, data: TaskData) -> TeacherScores:
    """Validation and test metrics on (subsamples of) the splits, scored sharded across processes;
    near-chance validation predictions are warned about."""
    from codistill.evaluation import label_metrics, predict_logits

    tc = config.train
    warnings: list[str] = []

    def score(examples: list[Example], desc: str) -> dict[str, float]:
        texts = [e.text for e in examples]
        logits = predict_logits(
            model,
            tokenizer,
            texts,
            batch_size=tc.eval_batch_size,
            max_length=tc.max_length,
            progress=desc,
            sharded=True,
        )
        if desc == "validation":
            warnings.extend(chance_warnings([e.label for e in examples], logits.argmax(-1), data.num_labels))
        return label_metrics([e.label for e in examples], logits.argmax(-1), data.task.metrics, data.num_labels)

    validation = score(subsample(data.validation, config.max_eval_examples, tc.seed), "validation")
    # own texts may come without a test split: nothing is reported for it then
    test = score(subsample(data.test, config.max_eval_examples, tc.seed), "test") if data.test else {}
    return TeacherScores(validation, test, warnings)


def teacher_metrics(
    config: TeacherConfig, data: TaskData, key: str, setup: TeacherSetup, fit: TeacherFit, scores: TeacherScores
) -> dict[str, Any]:
    """What ``metrics.json`` holds (``fingerprint`` is the cache key a later call matches)."""
    import torch

    from codistill.models.loading import describe_model

    tc, out = config.train, fit.train_output
    return {
        "fingerprint": key,
        "task": data.task.name,
        "model": config.model,
        "test": scores.test,
        "validation": scores.validation,
        "selected_step": fit.keep_best.best_step,
        "validation_history": fit.keep_best.history,
        "train_examples": len(setup.train_set) if config.finetune else 0,
        "max_length": tc.max_length,  # the length every later stage reads this teacher with (teacher/meta.py)
        "train_steps": int(out.global_step) if out else 0,
        "train_loss": float(out.training_loss) if out else None,
        "head": config.head,
        "lora": config.lora.to_dict() if config.lora else None,
        "eval_examples": {
            "validation": min(len(data.validation), config.max_eval_examples or 10**12),
            "test": min(len(data.test), config.max_eval_examples or 10**12),
        },
        "train_seconds": round(fit.train_seconds, 2),
        "total_seconds": round(time.perf_counter() - fit.started, 2),
        "device": str(next(fit.model.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "data_fingerprint": data.fingerprint,
        "data_source": data.source,
        "model_info": describe_model(fit.model),
        "codistill_version": __version__,
        "warnings": scores.warnings,
    }


def build_teacher_model(config: TeacherConfig, ref: Any, data: TaskData) -> tuple[Any, Any, Any]:
    """(model, tokenizer, resolved verbalizer config or None) ready for training and scoring."""
    from codistill.models import load_classifier, load_tokenizer

    tokenizer = load_tokenizer(ref, trust_remote_code=config.trust_remote_code)
    if config.head == "classifier":
        model: Any = load_classifier(  # a transformers classifier, or a peft model wrapping one
            ref,
            num_labels=data.num_labels,
            label_names=data.task.label_names,
            tokenizer=tokenizer,
            trust_remote_code=config.trust_remote_code,
        )
        if config.lora is not None:
            from codistill.models.lora import apply_lora

            model = apply_lora(model, config.lora, "classifier")
        return model, tokenizer, None

    from codistill.models.prompting import Demonstration
    from codistill.models.verbalizer import build_verbalizer, load_causal_lm

    vconfig = config.verbalizer
    if vconfig.num_demonstrations and not vconfig.demonstrations:
        shots = subsample(data.pool, vconfig.num_demonstrations, vconfig.demonstration_seed)
        # alternate the classes so no label word dominates the end of the prompt
        by_label = [[e for e in shots if e.label == c] for c in range(data.num_labels)]
        ordered = [e for group in zip(*by_label) for e in group] + [
            e for g in by_label for e in g[min(map(len, by_label)) :]
        ]
        vconfig = vconfig.model_copy(
            update={"demonstrations": [Demonstration(text=e.text, label=e.label) for e in ordered]}
        )
    lm = load_causal_lm(ref, trust_remote_code=config.trust_remote_code)
    model, prompt_tokenizer = build_verbalizer(config.model, vconfig, data.task.label_names, lm=lm, tokenizer=tokenizer)
    if config.lora is not None:
        from codistill.models.lora import apply_lora

        model.lm = apply_lora(model.lm, config.lora, "causal_lm")
    if not config.finetune:
        for p in model.parameters():
            p.requires_grad_(False)
    return model, prompt_tokenizer, vconfig
