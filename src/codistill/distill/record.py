"""What a distillation run writes: its output folder, the per-process report and the saved run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codistill import __version__
from codistill.data import TaskData
from codistill.distill.config import DistillConfig

METRICS_FILE = "metrics.json"


def default_output_dir(config: DistillConfig) -> Path:
    method = config.method.replace("+", "-")
    task = (
        Path(config.data.train_file).stem if config.data.train_file is not None else config.data.task
    )  # owned: a train_file
    return Path("runs") / "distill" / f"{task}-{method}-k{config.k}-s{config.seed}"


def run_output_dir(config: DistillConfig) -> Path:
    return Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config)


def process_report(trainer: Any, output: Any) -> dict[str, Any]:
    """Per process: optimisation steps, batches and examples trained on, groups found split, and
    the squared norm of the loss terms' own parameters (equal on every process when in sync)."""
    from codistill.utils import distributed

    norm = sum(float(p.detach().double().pow(2).sum()) for p in trainer.terms.parameters())
    mine = {"steps": int(output.global_step), **trainer.batch_report, "term_norm": norm}
    return {"world_size": distributed.world_size(), "processes": distributed.all_gather(mine)}


def save_student(tmp: Path, student: Any, tokenizer: Any, config: DistillConfig, *, adapter: bool = False) -> None:
    """The model files of a run (a plain transformers classifier, or a LoRA adapter)."""
    if adapter:
        from codistill.models.lora import save_adapter

        assert config.student.path is not None  # StudentConfig: save_adapter needs student.path
        save_adapter(student, tmp, config.student.path)
    else:
        student.save_pretrained(tmp)  # safetensors
    tokenizer.save_pretrained(tmp)


def save_run(
    out: Path,
    student: Any,
    tokenizer: Any,
    config: DistillConfig,
    metrics: dict[str, Any],
    data: TaskData,
    *,
    adapter: bool = False,
    save_model: Any = None,
) -> None:
    """The run folder: model files (``save_model(tmp)``, default :func:`save_student`), config,
    metrics and a model card, written atomically."""
    from codistill.utils.io import atomic_directory, atomic_write_json

    with atomic_directory(out, "distill") as tmp:
        if save_model is not None:
            save_model(tmp)
        else:
            save_student(tmp, student, tokenizer, config, adapter=adapter)
        config.save(tmp / "distill_config.yaml")
        atomic_write_json(tmp / METRICS_FILE, metrics)
        (tmp / "README.md").write_text(run_card(config, metrics, data), encoding="utf-8")


def run_card(config: DistillConfig, metrics: dict[str, Any], data: TaskData) -> str:
    from codistill.training.card import SETFIT_USAGE, model_card

    pooled = bool(metrics["student_source"].get("pooled"))  # saved as a SetFit model directory
    test = metrics.get("test") or {}
    val = metrics.get("validation") or {}
    pick = ("accuracy", "macro_f1", "mcc", "agreement", "kl_teacher_student", "ece")
    selection = (
        "Weights selected on the validation split carved from the pool. "
        if config.train.select_best
        else "Fixed step budget, no selection. "
    )
    return model_card(
        title=f"codistill student: {config.method} on {data.task.name} (k={config.k}, seed={config.seed})",
        summary=(
            f"Distilled with codistill {__version__} from the teacher `{config.teacher}` on a k={config.k} "
            f"budget ({metrics['train_set']['originals']} originals, {metrics['train_set']['counterfactuals']} "
            "teacher-labelled counterfactuals). "
            + selection
            + "The test split was never used for training or selection."
        ),
        base_model=metrics["student_source"]["name"],
        task=data.task.name,
        label_names=list(data.task.label_names),
        test_metrics={k: test[k] for k in pick if k in test},
        validation_metrics={k: val[k] for k in pick if k in val},
        config=config.to_dict(),
        details={
            "method": config.method,
            "losses": ", ".join(f"{s['weight']} x {s['name']}" for s in metrics["losses"]),
            "train steps": metrics["train_steps"],
            "selected step": metrics["selected_step"],
            "teacher fingerprint": metrics["teacher_fingerprint"],
            "data fingerprint": metrics["data_fingerprint"],
        },
        usage=SETFIT_USAGE if pooled else None,
        library="setfit" if pooled else "transformers",
    )
