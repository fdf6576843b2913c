"""Teacher fine-tuning: train on the pool, select on validation, report test, cache by inputs."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codistill import __version__
from codistill.data import TaskData, load_task
from codistill.teacher.config import TeacherConfig
from codistill.teacher.fit import chance_warnings as chance_warnings  # re-exported: callers read it here
from codistill.teacher.fit import fit_teacher, prepare_teacher, score_teacher, teacher_metrics
from codistill.teacher.fit import subsample as subsample  # re-exported: callers read it here
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
    from codistill.models.loading import quiet_transformers
    from codistill.utils.seed import seed_everything

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

    quiet_transformers()
    seed_everything(config.train.seed)
    setup = prepare_teacher(config, ref, data)
    with distributed.main_directory(out, "teacher") as tmp:
        fit = fit_teacher(config, setup, data, tmp / "trainer", out.name)
        scores = score_teacher(config, fit.model, setup.tokenizer, data)
        metrics = teacher_metrics(config, data, key, setup, fit, scores)
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        if distributed.is_main():  # the other processes only helped to train and score
            write_teacher(tmp, fit.model, setup.tokenizer, config, setup.verbalizer, data, metrics)
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
