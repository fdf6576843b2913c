"""The training, evaluation and record steps of a :class:`~codistill.distill.run.Distiller`.

Each function reads the state the Distiller's earlier steps left on it (data, signals, student,
terms, encoded training set) and is called by the Distiller method of the same purpose, which a
subclass may override instead.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codistill import __version__

if TYPE_CHECKING:
    from codistill.distill.run import Distiller


NOTHING_TO_MEASURE = (
    "nothing to measure on: no test texts and no unlabeled texts (give a test file for scores against gold labels, "
    "or unlabeled texts for agreement with the teacher)"
)


def _validation_scorer(d: Distiller) -> Any:
    from codistill.evaluation import fidelity_metrics, label_metrics

    val = d.data.validation
    val_labels = np.array([e.label for e in val])
    val_teacher = d.signals.logits([e.text for e in val])

    def compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        out = label_metrics(val_labels, logits.argmax(-1), ("accuracy", "macro_f1", "mcc"))
        fid = fidelity_metrics(val_teacher, logits)
        out["agreement"], out["kl"] = fid["agreement"], fid["kl_teacher_student"]
        return out

    return compute_metrics


def run_trainer(d: Distiller) -> tuple[Any, Any, Any]:
    """(trainer, train output, keep-best callback or None) of the training loop."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from codistill.distill.record import run_output_dir
    from codistill.distill.trainer import DistillTrainer
    from codistill.training import EncodedDataset, KeepBestCallback
    from codistill.training.callbacks import StepProgress
    from codistill.training.trackers import point_tensorboard
    from codistill.utils.seed import seed_everything

    config, tc, seed = d.config, d.config.train, d.train_seed
    select = tc.select_best and len(d.data.validation) > 0
    if tc.select_best and not select:  # no validation texts: nothing to select on, a fixed budget
        tc = tc.model_copy(update={"select_best": False})
    val_set = keep_best = None
    if select:
        val = d.data.validation
        val_set = EncodedDataset([e.text for e in val], d.tokenizer, tc.max_length, [e.label for e in val])
        keep_best = KeepBestCallback(config.select_metric, greater_is_better=config.select_metric != "kl")
    seed_everything(seed)
    workdir = Path(tempfile.mkdtemp(prefix="codistill-distill-"))
    run_name = run_output_dir(config).name
    try:
        args = tc.trainer_arguments(
            str(workdir), len(d.train_dataset), run_name=run_name, seed=seed, data_seed=seed, disable_tqdm=True
        )
        trainer = DistillTrainer(
            model=d.student,
            args=args,
            train_dataset=d.train_dataset,
            eval_dataset=val_set,
            data_collator=d.collator,
            compute_metrics=_validation_scorer(d) if select else None,
            callbacks=([keep_best] if keep_best else [])
            + ([StepProgress(f"distill {config.method}")] if d.progress else []),
            terms=d.terms,
            teacher_layers=d.teacher_layers,
            pair_groups=d.train_items.groups(),
        )
        trainer.remove_callback(PrinterCallback)  # losses go to metrics.json / logging, not stdout
        trainer.remove_callback(ProgressCallback)
        point_tensorboard(trainer, tc.resolved_logging_dir(run_name))
        output = trainer.train()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return trainer, output, keep_best


def evaluate_student(d: Distiller) -> dict[str, Any]:
    """Validation and test scores, counterfactual-pair flips and contrast sets."""
    from codistill.distill.evaluate import score_agreement, score_contrast, score_pairs, score_split
    from codistill.distill.trainset import heldout_pairs

    config, ev, length = d.config, d.config.eval, d.config.train.max_length
    student, tok, signals = d.student, d.tokenizer, d.signals
    results: dict[str, Any] = {}
    if d.data.validation:
        results["validation"] = score_split(
            student, tok, signals, d.data.validation, max_length=length, batch_size=ev.batch_size
        )
    if ev.test and d.data.test:
        results["test"] = score_split(student, tok, signals, d.data.test, max_length=length, batch_size=ev.batch_size)
    if d.data.unlabeled:  # no gold labels: how faithfully the student follows its teacher on them
        results["unlabeled"] = score_agreement(
            student, tok, signals, d.data.unlabeled, max_length=length, batch_size=ev.batch_size
        )
    if "test" not in results and "unlabeled" not in results:
        results["measured_on"] = (
            NOTHING_TO_MEASURE
            if not d.data.test
            else "nothing measured: the test texts are not scored (eval.test=false)"
        )
    pairs: list[tuple[str, str]] = []
    pair_source = None
    if ev.counterfactuals:
        pairs = heldout_pairs(d.session.counterfactuals(ev.counterfactuals), d.data, set(), limit=10**9)
        pair_source = ev.counterfactuals
    elif d.records is not None:
        pairs = heldout_pairs(d.records, d.data, {e.id for e in d.train_items.originals})
        pair_source = f"{config.counterfactuals} (originals not trained on)"
    if pairs and (scored := score_pairs(student, tok, signals, pairs, max_length=length)) is not None:
        results["counterfactual_pairs"] = {**scored, "source": pair_source}
    if d.contrast is not None:
        results["contrast"] = score_contrast(
            student, tok, signals, d.contrast, str(ev.contrast), max_length=length, batch_size=ev.batch_size
        )
    return results


def run_metrics(d: Distiller, results: dict[str, Any]) -> dict[str, Any]:
    """The run's record (metrics.json): what was trained on, how, and every score."""
    import torch

    from codistill.distill.record import process_report
    from codistill.models.loading import describe_model

    config, train, kb = d.config, d.train_items, d.keep_best
    select = kb is not None
    return {
        "task": d.data.task.name,
        "method": config.method,
        "recipe": config.recipe if config.losses is None else None,
        "losses": [s.to_dict() for s in d.specs],
        "k": config.k,
        "seed": config.seed,
        "cod": config.cod,
        "headline_metric": d.data.task.primary_metric,
        **results,
        "train_set": train.report | {"size": len(d.train_dataset), "ids": [e.id for e in train.originals]},
        "train_steps": int(d.output.global_step),
        "train_loss": float(d.output.training_loss),
        "loss_history": [h for h in d.trainer.state.log_history if "loss" in h],
        "selection": (
            "best validation step"
            if select
            else "none: no validation texts, a fixed budget of train.max_steps"
            if not d.data.validation
            else "none: a fixed budget of train.max_steps"
        ),
        "selected_step": kb.best_step if select else None,
        "select_metric": config.select_metric if select else None,
        "validation_history": kb.history if select else [],
        "stage1": d.stage1,
        "head_probe": d.probe,
        "contrastive": d.contrastive,
        "frozen_embedding_parameters": d.frozen,
        "trainable_parameters": d.trainable
        + sum(p.numel() for _, _, t in d.terms for p in t.parameters() if p.requires_grad),
        "teacher": config.teacher,
        "teacher_fingerprint": d.signals.fingerprint,
        "signals": d.signals.describe(),
        "student_info": describe_model(d.student),
        "student_source": d.student_source.describe(),
        "same_tokenizer": d.shapes.same_tokenizer,
        "student_lora": config.student.lora.to_dict() if config.student.lora else None,
        "data_fingerprint": d.data.fingerprint,
        "device": str(next(d.student.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "distributed": process_report(d.trainer, d.output),
        "codistill_version": __version__,
    }
