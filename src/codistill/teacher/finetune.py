"""Teacher fine-tuning: train on the pool, select on validation, report test, cache by inputs."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codistill import __version__
from codistill.data import TaskData, load_task
from codistill.data.schema import Example
from codistill.teacher.config import TeacherConfig
from codistill.utils import distributed
from codistill.utils.hashing import fingerprint
from codistill.utils.io import atomic_write_json, check_output_dir, read_json
from codistill.utils.paths import cache_home

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
TRACKING_FIELDS = ("report_to", "run_name", "logging_dir")
#: bump when what a cached teacher holds or how it is trained changes without a version change
TEACHER_CACHE_SCHEMA = 2


@dataclass
class TeacherResult:
    path: Path
    metrics: dict[str, Any]
    cached: bool


def teacher_fingerprint(config: TeacherConfig, data: TaskData, model_hash: str, world_size: int = 1) -> str:
    """Everything that determines the trained weights; the output location is not part of it.
    ``batch_size`` is per process, so a multi-process run's number of processes is part of it."""
    return fingerprint(
        {
            **({"world_size": world_size} if world_size > 1 else {}),
            # trackers and where they log do not change the weights
            "config": config.model_dump(mode="json", exclude=fingerprint_exclusions(config)),
            "data": data.fingerprint,
            "model": model_hash,
            # the full version and an explicit schema: a patch release that changes training
            # must not be served a teacher trained by the old code
            "codistill": __version__,
            "cache_schema": TEACHER_CACHE_SCHEMA,
        }
    )


def fingerprint_exclusions(config: TeacherConfig) -> dict[str, Any]:
    """Config fields that do not determine the weights; the setfit method's own fields are left
    out of fine-tuned teachers' fingerprints, so teachers cached before they existed still match."""
    exclude: dict[str, Any] = {"output_dir": True, "train": set(TRACKING_FIELDS)}
    if config.method == "finetune":
        exclude.update(method=True, k=True, setfit=True)
    return exclude


def default_output_dir(config: TeacherConfig, key: str) -> Path:
    model = Path(config.model).name if "/" in config.model else config.model
    return cache_home() / "teachers" / f"{config.data.task}-{model}-{key}"


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


def cached_result(path: Path, key: str) -> TeacherResult | None:
    metrics_path = path / METRICS_FILE
    if metrics_path.is_file():
        metrics = read_json(metrics_path)
        if metrics.get("fingerprint") == key:
            return TeacherResult(path=path, metrics=metrics, cached=True)
    return None


def train_teacher(config: TeacherConfig, *, force: bool = False, data: TaskData | None = None) -> TeacherResult:
    """Fine-tune ``config.model`` on ``config.data`` and save model, tokenizer, metrics and card.

    A second call with the same inputs (config, data content, model weights) returns the saved
    teacher at once unless ``force`` is set.
    """
    from codistill.models import model_fingerprint, resolve_model

    distributed.init()
    data = data or load_task(config.data)
    ref = resolve_model(config.model)
    key = teacher_fingerprint(config, data, model_fingerprint(ref), distributed.world_size())
    out = Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config, key)
    check_output_dir(out, "teacher output directory", "teacher")  # before any training: never replace a user's folder
    if not force and (hit := cached_result(out, key)):
        return hit
    if config.method == "setfit":  # the k labelled texts alone, no pool
        from codistill.teacher.setfit_teacher import train_setfit_teacher

        return train_setfit_teacher(config, data, key, out)

    import torch
    from transformers import Trainer

    from codistill.evaluation import label_metrics, predict_logits
    from codistill.models.loading import describe_model, quiet_transformers
    from codistill.training import EncodedDataset, KeepBestCallback, PadCollator
    from codistill.training.trackers import point_tensorboard
    from codistill.utils.seed import seed_everything

    quiet_transformers()
    tc = config.train
    seed_everything(tc.seed)
    model, tokenizer, verbalizer = build_teacher_model(config, ref, data)
    if config.freeze_embeddings:
        from codistill.models.freeze import freeze_word_embeddings

        freeze_word_embeddings(model)
    if config.freeze_layers:
        from codistill.models.freeze import freeze_bottom_layers

        freeze_bottom_layers(model, config.freeze_layers)
    demo_texts = {d.text for d in verbalizer.demonstrations} if verbalizer else set()
    train_examples = subsample([e for e in data.pool if e.text not in demo_texts], config.max_train_examples, tc.seed)
    train_set = EncodedDataset(
        [e.text for e in train_examples], tokenizer, tc.max_length, [e.label for e in train_examples]
    )
    val_set = EncodedDataset(
        [e.text for e in data.validation], tokenizer, tc.max_length, [e.label for e in data.validation]
    )
    metric_names = data.task.metrics

    def compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        return label_metrics(prediction.label_ids, np.argmax(logits, -1), metric_names, data.num_labels)

    keep_best = KeepBestCallback(data.task.primary_metric)
    started = time.perf_counter()
    train_output = None
    with distributed.main_directory(out, "teacher") as tmp:
        if config.finetune:
            trainer = Trainer(
                model=model,
                args=tc.trainer_arguments(str(tmp / "trainer"), len(train_set), run_name=out.name),
                train_dataset=train_set,
                eval_dataset=val_set if tc.select_best else None,
                data_collator=PadCollator(tokenizer),
                compute_metrics=compute_metrics,
                callbacks=[keep_best] if tc.select_best else [],
            )
            point_tensorboard(trainer, tc.resolved_logging_dir(out.name))
            train_output = trainer.train()
            model = trainer.model
        train_seconds = time.perf_counter() - started
        model.eval()

        def score(examples: list[Example], desc: str) -> dict[str, float]:
            logits = predict_logits(
                model,
                tokenizer,
                [e.text for e in examples],
                batch_size=tc.eval_batch_size,
                max_length=tc.max_length,
                progress=desc,
                sharded=True,
            )
            if desc == "validation":
                warnings.extend(chance_warnings([e.label for e in examples], logits.argmax(-1), data.num_labels))
            return label_metrics([e.label for e in examples], logits.argmax(-1), metric_names, data.num_labels)

        warnings: list[str] = []
        validation_metrics = score(subsample(data.validation, config.max_eval_examples, tc.seed), "validation")
        # own texts may come without a test split: nothing is reported for it then
        test_metrics = score(subsample(data.test, config.max_eval_examples, tc.seed), "test") if data.test else {}
        metrics = {
            "fingerprint": key,
            "task": data.task.name,
            "model": config.model,
            "test": test_metrics,
            "validation": validation_metrics,
            "selected_step": keep_best.best_step,
            "validation_history": keep_best.history,
            "train_examples": len(train_set) if config.finetune else 0,
            "max_length": tc.max_length,  # the length every later stage reads this teacher with (teacher/meta.py)
            "train_steps": int(train_output.global_step) if train_output else 0,
            "train_loss": float(train_output.training_loss) if train_output else None,
            "head": config.head,
            "lora": config.lora.to_dict() if config.lora else None,
            "eval_examples": {
                "validation": min(len(data.validation), config.max_eval_examples or 10**12),
                "test": min(len(data.test), config.max_eval_examples or 10**12),
            },
            "train_seconds": round(train_seconds, 2),
            "total_seconds": round(time.perf_counter() - started, 2),
            "device": str(next(model.parameters()).device),
            "torch_threads": torch.get_num_threads(),
            "data_fingerprint": data.fingerprint,
            "data_source": data.source,
            "model_info": describe_model(model),
            "codistill_version": __version__,
            "warnings": warnings,
        }
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        if distributed.is_main():  # the other processes only helped to train and score
            write_teacher(tmp, model, tokenizer, config, verbalizer, data, metrics)
    distributed.barrier()
    return TeacherResult(path=out, metrics=metrics, cached=False)


def write_teacher(
    tmp: Path,
    model: Any,
    tokenizer: Any,
    config: TeacherConfig,
    verbalizer: Any,
    data: TaskData,
    metrics: dict[str, Any],
) -> None:
    """Weights, tokenizer, config, metrics and model card into ``tmp``."""
    from codistill.training.card import model_card

    test_metrics, validation_metrics = metrics["test"], metrics["validation"]
    save_teacher_model(tmp, model, tokenizer, config, verbalizer, tuple(data.task.label_names))
    config.save(tmp / "teacher_config.yaml")
    atomic_write_json(tmp / METRICS_FILE, metrics)
    (tmp / "README.md").write_text(
        model_card(
            title=f"codistill teacher: {config.model} on {data.task.name}",
            summary=(
                f"{config.model} prompted as a verbalizer classifier (no training); {len(verbalizer.demonstrations)} demonstrations."
                if not config.finetune
                else f"Fine-tuned with codistill {__version__} on {metrics['train_examples']} examples of the {data.task.name} "
                f"pool; weights selected on a {len(data.validation)}-example validation split carved from the "
                "pool (the test split was never used for selection)."
            ),
            base_model=config.model,
            task=data.task.name,
            label_names=list(data.task.label_names),
            test_metrics=test_metrics,
            validation_metrics=validation_metrics,
            config=config.to_dict(),
            details={
                "head": config.head + (" + LoRA" if config.lora else ""),
                "train steps": metrics["train_steps"],
                "selected step": metrics["selected_step"],
                "train seconds": metrics["train_seconds"],
                "data source": data.source,
                "data fingerprint": data.fingerprint,
            },
        ),
        encoding="utf-8",
    )


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


def save_teacher_model(
    directory: Path, model: Any, tokenizer: Any, config: TeacherConfig, verbalizer: Any, label_names: tuple[str, ...]
) -> None:
    """Classifier: full weights, or the LoRA adapter + its base name. Verbalizer: the spec, plus the
    adapter (LoRA) or the fine-tuned LM's weights (full fine-tuning)."""
    from codistill.models.lora import save_adapter

    if verbalizer is None:
        if config.lora is not None:
            save_adapter(model, directory, config.model)
        else:
            model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        return
    from codistill.models.verbalizer import save_verbalizer

    base = config.model
    if config.lora is not None:
        save_adapter(model.lm, directory / "adapter", config.model)
    elif config.finetune:
        model.lm.save_pretrained(directory)
        tokenizer.base.save_pretrained(directory)
        base = "."
    save_verbalizer(directory, base=base, config=verbalizer, label_names=label_names, adapter=config.lora is not None)
