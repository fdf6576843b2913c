"""One distillation run as steps of a trainer class: load, build the training set, train, evaluate, save.

:class:`Distiller` owns the run; :meth:`Distiller.train` calls its steps in order and each step
is a method a subclass may override (another student kind overrides :meth:`build_student` and
:meth:`save_model`; another training set, :meth:`build_train_set`). ``distill(config) ->
DistillResult`` is the functional entry point the CLI and sweeps call; repeated calls in one
process share a :class:`~codistill.distill.session.DistillSession` (data, teacher and its signal
cache, the student's initial weights, counterfactual files).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from codistill.data import TaskData
from codistill.distill.config import DistillConfig
from codistill.distill.head import fit_probe_head, reinit_head
from codistill.distill.record import METRICS_FILE, default_output_dir, run_output_dir, save_run
from codistill.distill.session import DistillSession, default_session
from codistill.errors import ConfigError
from codistill.models.freeze import freeze_word_embeddings

log = logging.getLogger(__name__)

__all__ = [
    "METRICS_FILE",
    "DistillResult",
    "Distiller",
    "default_output_dir",
    "distill",
    "run_output_dir",
    "same_tokenization",
]


@dataclass
class DistillResult:
    metrics: dict[str, Any]
    output_dir: Path | None
    timings: dict[str, float]
    config: DistillConfig
    student: Any = field(default=None, repr=False)  # the trained model, kept in memory


def same_tokenization(
    student_tok: Any, teacher_tok: Any, texts: list[str], max_length: int, teacher_max_length: int | None = None
) -> bool:
    a = student_tok(texts, truncation=True, max_length=max_length)["input_ids"]
    b = teacher_tok(texts, truncation=True, max_length=teacher_max_length or max_length)["input_ids"]
    return a == b


class Distiller:
    """Train a student per ``config``.

    Data comes from ``config.data``, or in memory: a :class:`TaskData` (``data``), or your own
    texts (``train``: a list of texts with ``labels``, a list of row dicts or a ``datasets.Dataset``;
    optional ``test``, ``validation`` and ``unlabeled`` alike), every one of which is trained on.
    ``counterfactuals`` may be records in memory (e.g. from ``generate_counterfactuals``).
    """

    def __init__(
        self,
        config: DistillConfig,
        *,
        session: DistillSession | None = None,
        data: TaskData | None = None,
        keep_model: bool = False,
        train: Any = None,
        labels: Any = None,
        test: Any = None,
        test_labels: Any = None,
        validation: Any = None,
        validation_labels: Any = None,
        unlabeled: Any = None,
        counterfactuals: Any = None,
        progress: bool | None = None,
    ) -> None:
        from codistill.training.callbacks import show_progress

        self.keep_model = keep_model
        self.progress = show_progress(progress)  # None: a bar over the steps when stderr is a terminal
        self.session = session or default_session()
        self._records_in = (
            list(counterfactuals)
            if counterfactuals is not None and not isinstance(counterfactuals, (str, Path))
            else None
        )
        if isinstance(counterfactuals, (str, Path)):
            config = config.model_copy(update={"counterfactuals": str(counterfactuals)})
        elif self._records_in is not None:
            config = config.model_copy(update={"counterfactuals": config.counterfactuals or "(in memory)"})
        if train is not None:
            from codistill.data.owned import load_owned

            data = load_owned(
                config.data,
                train=train,
                labels=labels,
                test=test,
                test_labels=test_labels,
                validation=validation,
                validation_labels=validation_labels,
                unlabeled=unlabeled,
            )
            # a key of its own in the session: two in-memory sets never share one
            config = config.model_copy(
                update={
                    "train_texts": "all",
                    "k": max(2, len(data.pool)),
                    "data": config.data.model_copy(update={"task": f"own-{data.fingerprint[:10]}"}),
                }
            )
        self.config = config
        self._data_in = data
        self.timings: dict[str, float] = {}
        self.train_seed = config.seed + config.train.seed

    # -- the run --------------------------------------------------------------------------
    def train(self) -> DistillResult:
        from codistill.utils import distributed

        self.check()
        distributed.init()  # before the teacher runs: its signals are computed sharded across processes
        t0 = time.perf_counter()
        with self.timed("load"):
            self.load_inputs()
            self.student, self.tokenizer = self.build_student()
        with self.timed("signals"):
            self.train_items = self.build_train_set()
            self.prepare_student()
            self.terms = self.build_terms()
            self.train_dataset = self.encode_train_set()
        with self.timed("stage1"):
            self.stage1 = self.fit_stage1()
        with self.timed("train"):
            self.train_student()
        with self.timed("evaluate"):
            results = self.evaluate()
        metrics = self.record(results)
        out_dir = run_output_dir(self.config) if self.config.save_model else None
        with self.timed("save"):
            if out_dir is not None and distributed.is_main():
                self.save(out_dir, metrics)
        self.timings["total"] = time.perf_counter() - t0
        metrics["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        if out_dir is not None and distributed.is_main():
            from codistill.utils.io import atomic_write_json

            atomic_write_json(out_dir / METRICS_FILE, metrics)
        distributed.barrier()  # the main process saves; the others wait, so the files exist when they return
        student = self.student if self.keep_model else None
        return DistillResult(
            metrics=metrics, output_dir=out_dir, timings=self.timings, config=self.config, student=student
        )

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - start

    # -- steps ----------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse what would fail late: no teacher, a foreign output folder."""
        if self.config.teacher is None:
            raise ConfigError("distill needs a teacher (config key `teacher`)")
        if self.config.save_model:  # refuse a foreign output folder before any work, not after training
            from codistill.utils.io import check_output_dir

            check_output_dir(run_output_dir(self.config), kind="distill")

    def load_inputs(self) -> None:
        """Data, the teacher's signal cache, the counterfactual file and the contrast set."""
        from codistill.evaluation.contrast import read_contrast
        from codistill.models.loading import quiet_transformers

        config = self.config
        quiet_transformers()
        if self._data_in is not None:
            self.session.add_data(config.data, self._data_in)
        self.data = data = self.session.data(config.data)
        from codistill.teacher.meta import check_shared_carve

        assert config.teacher is not None  # check() refuses a run without one
        check_shared_carve(config.teacher, config.data)  # students' validation never in the teacher's training pool
        if config.train_texts == "all" and config.k != len(data.pool):  # the budget is the texts given
            self.config = config = config.model_copy(update={"k": len(data.pool)})
        if config.student.path:  # a wrong student fails before the teacher is loaded
            from codistill.models.loading import check_label_count, resolve_model

            check_label_count(resolve_model(config.student.path), data.num_labels, "student")
        # a bad contrast file fails now, not after training
        self.contrast = read_contrast(config.eval.contrast, data.task.label_names) if config.eval.contrast else None
        # the teacher is needed even by the `ce` recipe: it labels counterfactuals and scores fidelity
        assert config.teacher is not None
        self.signals = self.session.teacher(
            config.teacher, config.teacher_max_length, config.signals_cache, data.num_labels
        )
        self.records: list[Any] | None
        if self._records_in is not None:
            self.records = self._records_in
        else:
            self.records = self.session.counterfactuals(config.counterfactuals) if config.counterfactuals else None
        if config.cod and self.records is None and config.budget_mode.needs_file:
            raise ConfigError(f"cod_mode={config.cod_mode} needs a counterfactual file (counterfactuals=...)")
        if config.cod and self.records is None:
            log.info("cod without a counterfactual file: training on the k/2 originals only (the `half` control)")

    def build_student(self) -> tuple[Any, Any]:
        """The student model and its tokenizer (override for another kind of student)."""
        from codistill.distill.student import resolve_student

        config = self.config
        self.student_source = resolve_student(config.student, config.teacher)
        student, tokenizer = self.session.student(
            config.student, self.data.num_labels, tuple(self.data.task.label_names), config.teacher
        )
        if self.student_source.pooled:
            cast(
                Any, student
            ).max_seq_length = config.train.max_length  # saved with it: SetFit reads texts as the student was trained
        return student, tokenizer

    def build_train_set(self) -> Any:
        """The k-shot originals and their attached counterfactuals (a :class:`TrainSet`)."""
        from codistill.distill.trainset import build_train_set
        from codistill.utils.seed import seed_everything

        seed_everything(self.train_seed)
        return build_train_set(self.config, self.data, self.signals, self.records)

    def prepare_student(self) -> None:
        """Head re-draw, contrastive stage (pooled students), linear probe, frozen embeddings and
        LoRA, in that order."""
        sc, texts = self.config.student, self.train_items.texts
        if sc.reinit_head if sc.reinit_head is not None else self.student_source.fresh_head:
            reinit_head(self.student, self.train_seed)
        self.contrastive = None
        if sc.contrastive is not None:
            from codistill.distill.contrastive import contrastive_stage

            self.contrastive = contrastive_stage(
                self.student,
                self.tokenizer,
                self.train_items,
                self.signals.logits(texts).argmax(-1),
                sc.contrastive,
                max_length=self.config.train.max_length,
                seed=self.train_seed,
                budget_texts=self.config.k,
                train_embeddings=not sc.freeze_embeddings,
            )
        self.probe = None
        if sc.head_probe:
            logits = self.signals.logits(texts)
            self.probe = fit_probe_head(
                self.student, self.tokenizer, texts, logits, max_length=self.config.train.max_length
            )
        self.frozen = freeze_word_embeddings(self.student) if sc.freeze_embeddings else 0
        if sc.lora is not None:
            from codistill.models.lora import apply_lora

            # after the head re-draw, so the trained head starts from the run seed's weights
            self.student = apply_lora(self.student, sc.lora, "classifier")

    def build_terms(self) -> list[tuple[str, float, Any]]:
        """The weighted loss terms, built for this student's and teacher's sizes."""
        import torch

        from codistill.distill.losses import ModelShapes, make_loss

        self.specs = self.config.loss_specs()
        terms = [(s.name, s.weight, make_loss(s.name, **s.params)) for s in self.specs]
        sig, tc = self.signals, self.config.train
        self.shapes = ModelShapes(
            student_layers=self.student.config.num_hidden_layers,
            student_hidden=self.student.config.hidden_size,
            teacher_layers=sig.num_layers,
            teacher_hidden=sig.width,
            num_labels=self.data.num_labels,
            same_tokenizer=same_tokenization(
                self.tokenizer, sig.tokenizer, self.train_items.texts, tc.max_length, sig.max_length
            ),
        )
        torch.manual_seed(self.train_seed)
        for _, _, term in terms:
            term.build(self.shapes)
        self.teacher_layers = sorted({layer for _, _, t in terms for layer in t.teacher_layers()})
        return terms

    def encode_train_set(self) -> Any:
        """Tokenised training texts carrying their :class:`TrainSignals`."""
        from codistill.distill.batch import TrainSignals
        from codistill.distill.trainer import DistillCollator
        from codistill.training import EncodedDataset

        items, layers = self.train_items, self.teacher_layers
        self.train_signals = TrainSignals(
            logits=self.signals.logits(items.texts),
            pair_id=[i.group for i in items.items],
            is_counterfactual=[i.is_counterfactual for i in items.items],
            layers=layers,
            hidden=self.signals.hidden(items.texts, layers) if layers else None,
        )
        self.collator = DistillCollator(self.tokenizer)
        return EncodedDataset(
            items.texts, self.tokenizer, self.config.train.max_length, items.labels, self.train_signals.features()
        )

    def fit_stage1(self) -> dict[str, Any]:
        """Stage 1 of staged terms (TED filters), on the whole training set as one batch."""
        from codistill.distill.batch import SignalBatch
        from codistill.distill.losses import LossTerm

        fit_log: dict[str, Any] = {}
        full = None
        for name, _, term in self.terms:
            if type(term).fit is not LossTerm.fit:
                full = full or self.collator([self.train_dataset[i] for i in range(len(self.train_dataset))])
                hidden = SignalBatch(teacher_hidden=full[SignalBatch.HIDDEN]).hidden_by_layer(self.teacher_layers)
                fit_log[name] = term.fit(full, hidden, self.student, self.train_seed)
        return fit_log

    def train_student(self) -> None:
        """The training loop (a :class:`DistillTrainer`), then LoRA merged unless the adapter is kept."""
        from codistill.distill.loop import run_trainer

        self.trainer, self.output, self.keep_best = run_trainer(self)
        self.student = self.trainer.model
        self.student.eval()
        self.trainable = sum(p.numel() for p in self.student.parameters() if p.requires_grad)
        self.adapter = self.config.student.lora is not None and self.config.student.save_adapter
        if self.config.student.lora is not None and not self.adapter:
            from codistill.models.lora import merge_lora

            # export a plain transformers classifier: the LoRA update folded into the weights
            self.student = merge_lora(self.student)

    def evaluate(self) -> dict[str, Any]:
        from codistill.distill.loop import evaluate_student

        return evaluate_student(self)

    def record(self, results: dict[str, Any]) -> dict[str, Any]:
        from codistill.distill.loop import run_metrics

        return run_metrics(self, results)

    def save(self, out_dir: Path, metrics: dict[str, Any]) -> None:
        save_run(out_dir, self.student, self.tokenizer, self.config, metrics, self.data, save_model=self.save_model)

    def save_model(self, folder: Path) -> None:
        """The student's files in ``folder`` (override for another kind of student)."""
        from codistill.distill.record import save_student

        save_student(folder, self.student, self.tokenizer, self.config, adapter=self.adapter)


def distill(
    config: DistillConfig,
    *,
    session: DistillSession | None = None,
    data: TaskData | None = None,
    keep_model: bool = False,
    progress: bool | None = False,
) -> DistillResult:
    """Train a student per ``config``; returns metrics, output path and timings (``progress``: a
    bar over the steps; ``None``: when stderr is a terminal)."""
    return Distiller(config, session=session, data=data, keep_model=keep_model, progress=progress).train()
