"""``distill_explanations(config)``: train a causal-LM student on a k-shot budget with task and
explanation targets, then evaluate its labels and the explanations it writes."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codistill import __version__
from codistill.errors import ConfigError, DataError
from codistill.explanations.config import ExplainConfig, ExplainDistillConfig
from codistill.explanations.record import ExplanationRecord, read_explanations


def load_explanations(
    directory: str | Path,
) -> tuple[ExplainConfig, list[ExplanationRecord], dict[str, ExplanationRecord]]:
    """(the explain config, training records, reference records of test examples by id)."""
    root = Path(directory).expanduser()
    if not (root / "explanations.jsonl").is_file() or not (root / "config.yaml").is_file():
        raise DataError(f"{root}: not an explanations directory (run `codistill explain -o {root}` first)")
    refs = read_explanations(root / "eval.jsonl") if (root / "eval.jsonl").is_file() else []
    return (
        ExplainConfig.from_yaml(root / "config.yaml"),
        read_explanations(root / "explanations.jsonl"),
        {r.id: r for r in refs},
    )


def training_records(config: ExplainDistillConfig, source: ExplainConfig, records: list[ExplanationRecord], data: Any):
    """The k-shot budget's examples with their explanations (a budget the explanations cover)."""
    from codistill.data import sample

    k = config.k or source.k
    if k > source.k:
        raise ConfigError(f"k={k} exceeds the explanations' k={source.k}; rerun `codistill explain --k {k}`")
    if config.seed not in source.seeds:
        raise ConfigError(
            f"seed {config.seed} is not among the explained seeds {source.seeds}; rerun `codistill explain --seeds ...`"
        )
    by_id = {r.id: r for r in records}
    shots = sample(data, k, config.seed).examples
    missing = [e.id for e in shots if e.id not in by_id]
    if missing:
        raise DataError(
            f"{len(missing)} example(s) of the k={k} seed={config.seed} budget have no explanation (e.g. {missing[0]}); "
            "the explanations were made for other data"
        )
    return k, shots, [by_id[e.id] for e in shots]


class ExplainDistillRun:
    """One :func:`distill_explanations` run (the arguments are its).

    :meth:`run` calls its steps in order and each is a method a subclass may override: another
    student kind overrides :meth:`build_student`, other targets :meth:`build_features`, another
    report :meth:`record`. Steps hand their results on as attributes (``source``, ``data``,
    ``student``, ``features``, ``test``, ``metrics``, ``written``, ...)."""

    source: ExplainConfig
    refs: dict[str, ExplanationRecord]
    data: Any
    names: list[str]
    k: int
    shots: list[Any]
    train_records: list[ExplanationRecord]
    tokenizer: Any
    student: Any
    seq2seq: bool
    features: list[dict[str, Any]]
    alpha: float
    output: Any
    train_seconds: float
    test: list[Any]
    metrics: dict[str, Any]
    written: list[dict[str, Any]]
    n_explain: int
    gen_tokens: int

    def __init__(
        self,
        config: ExplainDistillConfig,
        *,
        verifier: Any = None,
        student_model: Any = None,
        keep_model: bool = False,
        echo: Callable[..., Any] = print,
    ) -> None:
        self.config = config
        self.verifier = verifier
        self._student_in = student_model
        self.keep_model = keep_model
        self.echo = echo
        self.tc = config.train.with_overrides({"seed": config.seed})

    # -- the run --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from codistill.models.loading import quiet_transformers

        self.check()
        quiet_transformers()
        self.t0 = time.perf_counter()
        self.load_inputs()
        self.build_student()
        self.build_features()
        self.train()
        self.t_eval = time.perf_counter()  # evaluation: the test split, never used for selection
        student_labels, teacher_labels, predict = self.evaluate_labels()
        self.evaluate_explanations(student_labels, teacher_labels, predict)
        result = self.record()
        if self.config.output_dir:
            save_student(
                Path(self.config.output_dir).expanduser(),
                self.config,
                self.student,
                self.tokenizer,
                self.names,
                result,
                self.written,
                verbalizer=not self.seq2seq,
            )
        if self.keep_model:
            result["_student"], result["_tokenizer"] = self.student, self.tokenizer
        return result

    # -- the steps --------------------------------------------------------------------------
    def check(self) -> None:
        """Before any training: never write a user's folder or another kind of output."""
        if self.config.output_dir:
            from codistill.utils.io import check_output_dir

            out = Path(self.config.output_dir).expanduser()
            check_output_dir(out, "explain-distill output directory", "explain-distill")

    def load_inputs(self) -> None:
        """The explanations, the task's data and the k-shot budget's explained examples."""
        from codistill.data import load_task

        self.source, records, self.refs = load_explanations(self.config.explanations)
        self.data = load_task(self.source.data)
        self.names = list(self.data.task.label_names)
        self.k, self.shots, self.train_records = training_records(self.config, self.source, records, self.data)

    def build_student(self) -> None:
        """The seeded student (given or loaded) with its tokenizer; LoRA on it if asked."""
        from codistill.explanations.seq2seq import load_student
        from codistill.models.loading import load_tokenizer
        from codistill.utils.seed import seed_everything

        config = self.config
        seed_everything(config.seed)
        self.tokenizer = load_tokenizer(config.student)
        student = self._student_in if self._student_in is not None else load_student(config.student)
        self.seq2seq = bool(getattr(student.config, "is_encoder_decoder", False))
        if student.config.pad_token_id is None:
            student.config.pad_token_id = self.tokenizer.pad_token_id
        if config.lora is not None:
            from codistill.models.lora import apply_lora

            student = apply_lora(student, config.lora, "seq2seq_lm" if self.seq2seq else "causal_lm")
        self.student = student

    def build_features(self) -> None:
        """Task and explanation targets of the budget's examples, labelled by gold or the teacher."""
        from codistill.explanations.student import build_features

        config = self.config
        if config.task_labels == "gold":
            labels = [e.label for e in self.shots]
        else:
            labels = [r.teacher_label for r in self.train_records]
        self.features = build_features(
            self.tokenizer,
            self.train_records,
            config.mode,
            config.prompts,
            self.names,
            labels,
            self.tc.max_length,
            self.seq2seq,
        )
        self.alpha = 1.0 if config.mode == "task" else config.alpha
        self.echo(
            f"training a {config.mode} student (alpha {self.alpha}) on k={self.k}, seed {config.seed}: "
            f"{train_sequences(self.features)} sequences"
        )

    def train(self) -> None:
        """Train in a scratch folder; the student afterwards is the trained one (LoRA merged), in eval mode."""
        from codistill.explanations.seq2seq import Seq2SeqCollator
        from codistill.explanations.student import ExplanationCollator, ExplanationTrainer
        from codistill.models.lora import merge_lora

        workdir = Path(tempfile.mkdtemp(prefix="codistill-explain-"))
        t_train = time.perf_counter()
        try:
            trainer = ExplanationTrainer(
                model=self.student,
                args=self.tc.trainer_arguments(str(workdir), len(self.features), disable_tqdm=not self.source.progress),
                train_dataset=self.features,
                data_collator=(Seq2SeqCollator if self.seq2seq else ExplanationCollator)(self.tokenizer.pad_token_id),
                alpha=self.alpha,
            )
            self.output = trainer.train()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.train_seconds = time.perf_counter() - t_train
        self.student = merge_lora(trainer.model).eval()

    def evaluate_labels(self) -> tuple[list[int], list[int], Callable[[list[str]], Any]]:
        """Label metrics of student and teacher on the test examples; (student labels, teacher
        labels, the student's label predictor) for :meth:`evaluate_explanations`."""
        from codistill.explanations import evaluate as ev
        from codistill.explanations.generate import eval_examples

        config, data = self.config, self.data
        if self.verifier is None:
            from codistill.counterfactuals.verify import TeacherVerifier

            self.verifier = TeacherVerifier(config.teacher or self.source.teacher, num_labels=data.num_labels)
        self.test = eval_examples(data, config.max_eval_examples or len(data.test))
        texts = [e.text for e in self.test]
        teacher_labels = [int(x) for x in self.verifier.probs(texts).argmax(1)]
        classifier, prompt_tok = ev.task_classifier(self.student, self.tokenizer, config.prompts, self.names)
        student_labels = [int(x) for x in ev.predict(classifier, prompt_tok, texts, max_length=self.tc.max_length)]
        gold = [e.label for e in self.test]
        self.metrics = ev.task_metrics(gold, student_labels, teacher_labels)
        self.metrics["teacher_accuracy"] = ev.task_metrics(gold, teacher_labels, teacher_labels)["accuracy"]
        return student_labels, teacher_labels, lambda xs: ev.predict(classifier, prompt_tok, xs)

    def evaluate_explanations(
        self, student_labels: list[int], teacher_labels: list[int], predict: Callable[[list[str]], Any]
    ) -> None:
        """The student's counterfactuals and rationales for the first ``explain_eval_examples`` test
        texts (none for a task-only student): their metrics and the written explanations."""
        from codistill.explanations import evaluate as ev

        config, test = self.config, self.test
        self.gen_tokens = config.max_new_tokens or longest_target(self.features) + 4
        self.written = []
        self.n_explain = n = min(config.explain_eval_examples, len(test)) if config.mode != "task" else 0
        if not n:
            return
        sub, sub_s, sub_t = [e.text for e in test[:n]], student_labels[:n], teacher_labels[:n]
        self.written = [
            {"id": e.id, "text": e.text, "student_label": s, "teacher_label": t} for e, s, t in zip(test, sub_s, sub_t)
        ]
        args = (self.student, self.tokenizer)
        if config.mode in ("counterfactual", "both"):
            cfs = ev.generate(*args, config.prompts.counterfactual, sub, config.prompts, self.gen_tokens)
            m, full = ev.counterfactual_metrics(sub, cfs, self.verifier.probs, predict, sub_t, sub_s)
            self.metrics.update(m)
            for w, c, f in zip(self.written, cfs, full):
                w.update(counterfactual=c, counterfactual_text=f)
        if config.mode in ("rationale", "both"):
            rats = ev.generate(*args, config.prompts.rationale, sub, config.prompts, self.gen_tokens)
            references = [self.refs[e.id].rationale if e.id in self.refs else None for e in test[:n]]
            self.metrics.update(ev.rationale_metrics(rats, references, self.verifier.probs, sub_s, self.names))
            for w, r in zip(self.written, rats):
                w["rationale"] = r

    def record(self) -> dict[str, Any]:
        """The run's result (``metrics.json`` holds it less ``written``)."""
        import torch

        config, steps = self.config, int(self.output.global_step)
        return {
            "task": self.data.task.name,
            "mode": config.mode,
            "alpha": self.alpha,
            "k": self.k,
            "seed": config.seed,
            "student": config.student,
            "lora": config.lora is not None,
            "seq2seq": self.seq2seq,
            "explanation_source": self.source.source,
            "metrics": self.metrics,
            "train_examples": len(self.features),
            "train_sequences": train_sequences(self.features),
            "train_steps": steps,
            "train_loss": float(self.output.training_loss),
            "eval_examples": len(self.test),
            "explained_eval_examples": self.n_explain,
            "max_new_tokens": self.gen_tokens,
            "written": self.written,  # the student's explanations of the first n_explain test texts
            "timings": {
                "train_seconds": round(self.train_seconds, 2),
                "eval_seconds": round(time.perf_counter() - self.t_eval, 2),
                "seconds_per_step": round(self.train_seconds / max(1, steps), 3),
                "total_seconds": round(time.perf_counter() - self.t0, 2),
            },
            "torch_threads": torch.get_num_threads(),
            "codistill_version": __version__,
        }


def distill_explanations(
    config: ExplainDistillConfig,
    *,
    verifier: Any = None,
    student_model: Any = None,
    keep_model: bool = False,
    echo=print,
) -> dict[str, Any]:
    """Train and evaluate one student. ``verifier`` replaces the task teacher (tests pass scripted
    teachers; grids share one); ``student_model`` is an already loaded copy of ``config.student``."""
    run = ExplainDistillRun(config, verifier=verifier, student_model=student_model, keep_model=keep_model, echo=echo)
    return run.run()


def train_sequences(features: list[dict[str, Any]]) -> int:
    """Training sequences (task and explanation targets) over all examples."""
    return sum(len(f["sequences"]) for f in features)


def longest_target(features: list[dict[str, Any]]) -> int:
    """Tokens of the longest explanation target (response + eos) in the training data, so the
    student's explanations are never cut short of what it was taught to write."""
    from codistill.explanations.student import EXPLANATION

    lengths = [
        sum(s["response_mask"]) if "response_mask" in s else len(s["labels"])
        for f in features
        for s in f["sequences"]
        if s["kind"] == EXPLANATION
    ]
    return max(lengths, default=8)


def save_student(
    out: Path,
    config: ExplainDistillConfig,
    student: Any,
    tokenizer: Any,
    names: list[str],
    result: dict,
    written: list,
    verbalizer: bool = True,
) -> None:
    """The merged student (a causal LM loads as a verbalizer classifier with ``load_scorer``),
    metrics and the explanations it wrote for the test examples."""
    from codistill.models.verbalizer import VerbalizerConfig, save_verbalizer
    from codistill.utils.io import atomic_directory, atomic_write_json, atomic_write_jsonl

    with atomic_directory(out, "explain-distill") as tmp:
        student.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if verbalizer:
            vcfg = VerbalizerConfig(
                template=config.prompts.task, label_words=[[n] for n in names], chat=config.prompts.chat
            )
            save_verbalizer(tmp, base=".", config=vcfg, label_names=names, adapter=False)
        config.save(tmp / "explain_distill_config.yaml")
        atomic_write_json(
            tmp / "metrics.json", {k: v for k, v in result.items() if k != "written"}
        )  # written: its own file
        atomic_write_jsonl(tmp / "student_explanations.jsonl", written)
