"""One distillation run: sample the budget, attach counterfactuals, train, evaluate, save.

``distill(config) -> DistillResult`` is the Python API the CLI and sweeps call; repeated calls
in one process share a :class:`~codistill.distill.session.DistillSession` (data, teacher and
its signal cache, the student's initial weights, counterfactual files).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codistill import __version__
from codistill.data import TaskData
from codistill.distill.config import DistillConfig
from codistill.distill.head import fit_probe_head, reinit_head
from codistill.distill.session import DistillSession, default_session
from codistill.errors import ConfigError
from codistill.models.freeze import freeze_word_embeddings

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass
class DistillResult:
    metrics: dict[str, Any]
    output_dir: Path | None
    timings: dict[str, float]
    config: DistillConfig
    student: Any = field(default=None, repr=False)  # the trained model, kept in memory


def default_output_dir(config: DistillConfig) -> Path:
    method = config.method.replace("+", "-")
    return Path("runs") / "distill" / f"{config.data.task}-{method}-k{config.k}-s{config.seed}"


def run_output_dir(config: DistillConfig) -> Path:
    return Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config)


def same_tokenization(student_tok: Any, teacher_tok: Any, texts: list[str], max_length: int, teacher_max_length: int | None = None) -> bool:
    a = student_tok(texts, truncation=True, max_length=max_length)["input_ids"]
    b = teacher_tok(texts, truncation=True, max_length=teacher_max_length or max_length)["input_ids"]
    return a == b


def distill(
    config: DistillConfig,
    *,
    session: DistillSession | None = None,
    data: TaskData | None = None,
    keep_model: bool = False,
) -> DistillResult:
    """Train a student per ``config``; returns metrics, output path and timings."""
    import torch

    from codistill.distill.evaluate import score_contrast, score_pairs, score_split
    from codistill.distill.losses import LossTerm, ModelShapes, make_loss
    from codistill.distill.trainer import DistillCollator, DistillTrainer
    from codistill.distill.trainset import build_train_set, heldout_pairs
    from codistill.evaluation import fidelity_metrics, label_metrics
    from codistill.evaluation.contrast import read_contrast
    from codistill.models.loading import describe_model, quiet_transformers
    from codistill.training import EncodedDataset, KeepBestCallback
    from codistill.training.trackers import point_tensorboard
    from codistill.utils import distributed
    from codistill.utils.seed import seed_everything

    if config.teacher is None:
        raise ConfigError("distill needs a teacher (config key `teacher`)")
    if config.save_model:  # refuse a foreign output folder before any work, not after training
        from codistill.utils.io import check_output_dir

        check_output_dir(Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config))
    distributed.init()  # before the teacher runs: its signals are computed sharded across processes
    quiet_transformers()
    session = session or default_session()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tc = config.train
    train_seed = config.seed + tc.seed

    # -- inputs ---------------------------------------------------------------------------
    if data is not None:
        session.add_data(config.data, data)
    data = session.data(config.data)
    if config.student.path:  # a wrong student fails before the teacher is loaded
        from codistill.models.loading import check_label_count, resolve_model

        check_label_count(resolve_model(config.student.path), data.num_labels, "student")
    specs = config.loss_specs()
    # a bad contrast file fails now, not after training
    contrast = read_contrast(config.eval.contrast, data.task.label_names) if config.eval.contrast else None
    # the teacher is needed even by the `ce` recipe: it labels counterfactuals and scores fidelity
    signals = session.teacher(config.teacher, config.teacher_max_length, config.signals_cache, data.num_labels)
    records = session.counterfactuals(config.counterfactuals) if config.counterfactuals else None
    if config.cod and records is None and config.budget_mode.needs_file:
        raise ConfigError(f"cod_mode={config.cod_mode} needs a counterfactual file (counterfactuals=...)")
    if config.cod and records is None:
        log.info("cod without a counterfactual file: training on the k/2 originals only (the `half` control)")
    from codistill.distill.student import resolve_student

    student_source = resolve_student(config.student, config.teacher)
    student, tokenizer = session.student(config.student, data.num_labels, tuple(data.task.label_names), config.teacher)
    timings["load"] = time.perf_counter() - t0

    # -- training set and teacher signals -------------------------------------------------
    t1 = time.perf_counter()
    seed_everything(train_seed)
    train = build_train_set(config, data, signals, records)
    if config.student.reinit_head if config.student.reinit_head is not None else student_source.fresh_head:
        reinit_head(student, train_seed)
    t_logits = signals.logits(train.texts)
    probe = None
    if config.student.head_probe:
        probe = fit_probe_head(student, tokenizer, train.texts, t_logits, max_length=tc.max_length)
    frozen = freeze_word_embeddings(student) if config.student.freeze_embeddings else 0
    if config.student.lora is not None:
        from codistill.models.lora import apply_lora

        # after the head re-draw, so the trained head starts from the run seed's weights
        student = apply_lora(student, config.student.lora, "classifier")

    terms = [(s.name, s.weight, make_loss(s.name, **s.params)) for s in specs]
    shapes = ModelShapes(
        student_layers=student.config.num_hidden_layers,
        student_hidden=student.config.hidden_size,
        teacher_layers=signals.num_layers,
        teacher_hidden=signals.width,
        num_labels=data.num_labels,
        same_tokenizer=same_tokenization(tokenizer, signals.tokenizer, train.texts, tc.max_length, signals.max_length),
    )
    torch.manual_seed(train_seed)
    for _, _, term in terms:
        term.build(shapes)
    teacher_layers = sorted({layer for _, _, t in terms for layer in t.teacher_layers()})
    extra: dict[str, list[Any]] = {
        "teacher_logits": [torch.from_numpy(row.copy()) for row in t_logits],
        "pair_id": [i.group for i in train.items],
        "is_counterfactual": [int(i.is_counterfactual) for i in train.items],
    }
    if teacher_layers:
        extra["teacher_hidden"] = [torch.from_numpy(h.astype(np.float32)) for h in signals.hidden(train.texts, teacher_layers)]
    train_set = EncodedDataset(train.texts, tokenizer, tc.max_length, train.labels, extra)
    collator = DistillCollator(tokenizer)
    timings["signals"] = time.perf_counter() - t1

    # -- stage 1 of staged terms (TED filters) --------------------------------------------
    t2 = time.perf_counter()
    fit_log: dict[str, Any] = {}
    full = None
    for name, _, term in terms:
        if type(term).fit is not LossTerm.fit:
            full = full or collator([train_set[i] for i in range(len(train_set))])
            hidden = {layer: full["teacher_hidden"][:, i] for i, layer in enumerate(teacher_layers)}
            fit_log[name] = term.fit(full, hidden, student, train_seed)
    timings["stage1"] = time.perf_counter() - t2

    # -- train ----------------------------------------------------------------------------
    select = tc.select_best
    val_texts = [e.text for e in data.validation]
    val_labels = np.array([e.label for e in data.validation])
    val_teacher = signals.logits(val_texts) if select else None
    metric_names = list(data.task.metrics)

    def compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        out = label_metrics(val_labels, logits.argmax(-1), ("accuracy", "macro_f1", "mcc"))
        fid = fidelity_metrics(val_teacher, logits)
        out["agreement"], out["kl"] = fid["agreement"], fid["kl_teacher_student"]
        return out

    val_set = EncodedDataset(val_texts, tokenizer, tc.max_length, val_labels.tolist()) if select else None
    keep_best = KeepBestCallback(config.select_metric, greater_is_better=config.select_metric != "kl") if select else None
    seed_everything(train_seed)
    workdir = Path(tempfile.mkdtemp(prefix="codistill-distill-"))
    run_name = run_output_dir(config).name
    t3 = time.perf_counter()
    try:
        args = tc.trainer_arguments(
            str(workdir), len(train_set), run_name=run_name, seed=train_seed, data_seed=train_seed, disable_tqdm=True
        )
        trainer = DistillTrainer(
            model=student,
            args=args,
            train_dataset=train_set,
            eval_dataset=val_set,
            data_collator=collator,
            compute_metrics=compute_metrics if select else None,
            callbacks=[keep_best] if keep_best else [],
            terms=terms,
            teacher_layers=teacher_layers,
            pair_groups=train.groups(),
        )
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)  # losses go to metrics.json / logging, not stdout
        trainer.remove_callback(ProgressCallback)
        point_tensorboard(trainer, tc.resolved_logging_dir(run_name))
        output = trainer.train()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    timings["train"] = time.perf_counter() - t3
    student = trainer.model
    student.eval()
    trainable = sum(p.numel() for p in student.parameters() if p.requires_grad)
    lora_student = None
    if config.student.lora is not None and not config.student.save_adapter:
        from codistill.models.lora import merge_lora

        # export a plain transformers classifier: the LoRA update folded into the weights
        student = merge_lora(student)
    elif config.student.lora is not None:
        lora_student = student

    # -- evaluate -------------------------------------------------------------------------
    t4 = time.perf_counter()
    ev = config.eval
    results: dict[str, Any] = {
        "validation": score_split(student, tokenizer, signals, data.validation, max_length=tc.max_length, batch_size=ev.batch_size)
    }
    if ev.test:
        results["test"] = score_split(student, tokenizer, signals, data.test, max_length=tc.max_length, batch_size=ev.batch_size)
    pairs: list[tuple[str, str]] = []
    pair_source = None
    if ev.counterfactuals:
        pairs = heldout_pairs(session.counterfactuals(ev.counterfactuals), data, set(), limit=10**9)
        pair_source = ev.counterfactuals
    elif records is not None:
        pairs = heldout_pairs(records, data, {e.id for e in train.originals})
        pair_source = f"{config.counterfactuals} (originals not trained on)"
    if pairs:
        results["counterfactual_pairs"] = {**score_pairs(student, tokenizer, signals, pairs, max_length=tc.max_length), "source": pair_source}
    if contrast is not None:
        results["contrast"] = score_contrast(student, tokenizer, signals, contrast, str(config.eval.contrast),
                                             max_length=tc.max_length, batch_size=ev.batch_size)
    timings["evaluate"] = time.perf_counter() - t4

    history = [h for h in trainer.state.log_history if "loss" in h]
    metrics: dict[str, Any] = {
        "task": data.task.name,
        "method": config.method,
        "recipe": config.recipe if config.losses is None else None,
        "losses": [s.to_dict() for s in specs],
        "k": config.k,
        "seed": config.seed,
        "cod": config.cod,
        "headline_metric": data.task.primary_metric,
        **results,
        "train_set": train.report | {"size": len(train_set), "ids": [e.id for e in train.originals]},
        "train_steps": int(output.global_step),
        "train_loss": float(output.training_loss),
        "loss_history": history,
        "selected_step": keep_best.best_step if keep_best else None,
        "select_metric": config.select_metric if select else None,
        "validation_history": keep_best.history if keep_best else [],
        "stage1": fit_log,
        "head_probe": probe,
        "frozen_embedding_parameters": frozen,
        "trainable_parameters": trainable
        + sum(p.numel() for _, _, t in terms for p in t.parameters() if p.requires_grad),
        "teacher": config.teacher,
        "teacher_fingerprint": signals.fingerprint,
        "signals": signals.describe(),
        "student_info": describe_model(student),
        "student_source": student_source.describe(),
        "same_tokenizer": shapes.same_tokenizer,
        "student_lora": config.student.lora.to_dict() if config.student.lora else None,
        "data_fingerprint": data.fingerprint,
        "device": str(next(student.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "distributed": process_report(trainer, output),
        "codistill_version": __version__,
    }

    # -- save (by the main process; the others wait, so the files exist when they return) --
    out_dir = run_output_dir(config) if config.save_model else None
    t5 = time.perf_counter()
    if out_dir is not None and distributed.is_main():
        save_run(out_dir, student, tokenizer, config, metrics, data, adapter=lora_student is not None)
    timings["save"] = time.perf_counter() - t5
    timings["total"] = time.perf_counter() - t0
    metrics["timings"] = {k: round(v, 3) for k, v in timings.items()}
    if out_dir is not None and distributed.is_main():
        from codistill.utils.io import atomic_write_json

        atomic_write_json(out_dir / METRICS_FILE, metrics)
    distributed.barrier()
    return DistillResult(metrics=metrics, output_dir=out_dir, timings=timings, config=config, student=student if keep_model else None)


def process_report(trainer: Any, output: Any) -> dict[str, Any]:
    """Per process: optimisation steps, batches and examples trained on, groups found split, and
    the squared norm of the loss terms' own parameters (equal on every process when in sync)."""
    from codistill.utils import distributed

    norm = sum(float(p.detach().double().pow(2).sum()) for p in trainer.terms.parameters())
    mine = {"steps": int(output.global_step), **trainer.batch_report, "term_norm": norm}
    return {"world_size": distributed.world_size(), "processes": distributed.all_gather(mine)}


def save_run(out: Path, student: Any, tokenizer: Any, config: DistillConfig, metrics: dict[str, Any], data: TaskData, *, adapter: bool = False) -> None:
    from codistill.training.card import model_card
    from codistill.utils.io import atomic_directory, atomic_write_json

    test = metrics.get("test") or {}
    val = metrics["validation"]
    with atomic_directory(out, "distill") as tmp:
        if adapter:
            from codistill.models.lora import save_adapter

            save_adapter(student, tmp, config.student.path)  # save_adapter needs student.path
        else:
            student.save_pretrained(tmp)  # safetensors
        tokenizer.save_pretrained(tmp)
        config.save(tmp / "distill_config.yaml")
        atomic_write_json(tmp / METRICS_FILE, metrics)
        pick = ("accuracy", "macro_f1", "mcc", "agreement", "kl_teacher_student", "ece")
        (tmp / "README.md").write_text(
            model_card(
                title=f"codistill student: {config.method} on {data.task.name} (k={config.k}, seed={config.seed})",
                summary=(
                    f"Distilled with codistill {__version__} from the teacher `{config.teacher}` on a k={config.k} "
                    f"budget ({metrics['train_set']['originals']} originals, {metrics['train_set']['counterfactuals']} "
                    "teacher-labelled counterfactuals). "
                    + ("Weights selected on the validation split carved from the pool. " if config.train.select_best else "Fixed step budget, no selection. ")
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
            ),
            encoding="utf-8",
        )
