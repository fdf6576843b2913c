"""``distill_explanations(config)``: train a causal-LM student on a k-shot budget with task and
explanation targets, then evaluate its labels and the explanations it writes."""

from __future__ import annotations

import shutil
import tempfile
import time
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
    import torch

    from codistill.data import load_task
    from codistill.explanations import evaluate as ev
    from codistill.explanations.generate import eval_examples
    from codistill.explanations.seq2seq import Seq2SeqCollator, load_student
    from codistill.explanations.student import ExplanationCollator, ExplanationTrainer, build_features
    from codistill.models.loading import load_tokenizer, quiet_transformers
    from codistill.utils.io import check_output_dir
    from codistill.utils.seed import seed_everything

    if config.output_dir:  # before any training: never write a user's folder or another kind of output
        check_output_dir(Path(config.output_dir).expanduser(), "explain-distill output directory", "explain-distill")
    quiet_transformers()
    t0 = time.perf_counter()
    source, records, refs = load_explanations(config.explanations)
    data = load_task(source.data)
    names = list(data.task.label_names)
    k, shots, train_records = training_records(config, source, records, data)
    tc = config.train.with_overrides({"seed": config.seed})
    seed_everything(config.seed)
    tokenizer = load_tokenizer(config.student)
    student = student_model if student_model is not None else load_student(config.student)
    seq2seq = bool(getattr(student.config, "is_encoder_decoder", False))
    if student.config.pad_token_id is None:
        student.config.pad_token_id = tokenizer.pad_token_id
    if config.lora is not None:
        from codistill.models.lora import apply_lora

        student = apply_lora(student, config.lora, "seq2seq_lm" if seq2seq else "causal_lm")
    labels = [e.label for e in shots] if config.task_labels == "gold" else [r.teacher_label for r in train_records]
    features = build_features(
        tokenizer, train_records, config.mode, config.prompts, names, labels, tc.max_length, seq2seq
    )
    alpha = 1.0 if config.mode == "task" else config.alpha
    echo(
        f"training a {config.mode} student (alpha {alpha}) on k={k}, seed {config.seed}: {sum(len(f['sequences']) for f in features)} sequences"
    )
    workdir = Path(tempfile.mkdtemp(prefix="codistill-explain-"))
    t_train = time.perf_counter()
    try:
        trainer = ExplanationTrainer(
            model=student,
            args=tc.trainer_arguments(str(workdir), len(features), disable_tqdm=not source.progress),
            train_dataset=features,
            data_collator=(Seq2SeqCollator if seq2seq else ExplanationCollator)(tokenizer.pad_token_id),
            alpha=alpha,
        )
        output = trainer.train()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    train_seconds = time.perf_counter() - t_train
    from codistill.models.lora import merge_lora

    student = merge_lora(trainer.model).eval()

    # -- evaluation (test split; never used for selection) -----------------------------------
    t_eval = time.perf_counter()
    if verifier is None:
        from codistill.counterfactuals.verify import TeacherVerifier

        verifier = TeacherVerifier(config.teacher or source.teacher, num_labels=data.num_labels)
    test = eval_examples(data, config.max_eval_examples or len(data.test))
    texts = [e.text for e in test]
    teacher_labels = [int(x) for x in verifier.probs(texts).argmax(1)]
    classifier, prompt_tok = ev.task_classifier(student, tokenizer, config.prompts, names)
    student_labels = [int(x) for x in ev.predict(classifier, prompt_tok, texts, max_length=tc.max_length)]
    metrics: dict[str, Any] = ev.task_metrics([e.label for e in test], student_labels, teacher_labels)
    metrics["teacher_accuracy"] = ev.task_metrics([e.label for e in test], teacher_labels, teacher_labels)["accuracy"]
    gen_tokens = config.max_new_tokens or longest_target(features) + 4
    written: list[dict[str, Any]] = []
    n_explain = min(config.explain_eval_examples, len(test)) if config.mode != "task" else 0
    if n_explain:
        sub, sub_s, sub_t = texts[:n_explain], student_labels[:n_explain], teacher_labels[:n_explain]
        written = [
            {"id": e.id, "text": e.text, "student_label": s, "teacher_label": t} for e, s, t in zip(test, sub_s, sub_t)
        ]
        if config.mode in ("counterfactual", "both"):
            cfs = ev.generate(student, tokenizer, config.prompts.counterfactual, sub, config.prompts, gen_tokens)
            m, full = ev.counterfactual_metrics(
                sub, cfs, verifier.probs, lambda xs: ev.predict(classifier, prompt_tok, xs), sub_t, sub_s
            )
            metrics.update(m)
            for w, c, f in zip(written, cfs, full):
                w.update(counterfactual=c, counterfactual_text=f)
        if config.mode in ("rationale", "both"):
            rats = ev.generate(student, tokenizer, config.prompts.rationale, sub, config.prompts, gen_tokens)
            references = [refs[e.id].rationale if e.id in refs else None for e in test[:n_explain]]
            metrics.update(ev.rationale_metrics(rats, references, verifier.probs, sub_s, names))
            for w, r in zip(written, rats):
                w["rationale"] = r
    result: dict[str, Any] = {
        "task": data.task.name,
        "mode": config.mode,
        "alpha": alpha,
        "k": k,
        "seed": config.seed,
        "student": config.student,
        "lora": config.lora is not None,
        "seq2seq": seq2seq,
        "explanation_source": source.source,
        "metrics": metrics,
        "train_examples": len(features),
        "train_sequences": sum(len(f["sequences"]) for f in features),
        "train_steps": int(output.global_step),
        "train_loss": float(output.training_loss),
        "eval_examples": len(test),
        "explained_eval_examples": n_explain,
        "max_new_tokens": gen_tokens,
        "written": written,  # the student's explanations of the first n_explain test texts
        "timings": {
            "train_seconds": round(train_seconds, 2),
            "eval_seconds": round(time.perf_counter() - t_eval, 2),
            "seconds_per_step": round(train_seconds / max(1, int(output.global_step)), 3),
            "total_seconds": round(time.perf_counter() - t0, 2),
        },
        "torch_threads": torch.get_num_threads(),
        "codistill_version": __version__,
    }
    if config.output_dir:
        save_student(
            Path(config.output_dir).expanduser(),
            config,
            student,
            tokenizer,
            names,
            result,
            written,
            verbalizer=not seq2seq,
        )
    if keep_model:
        result["_student"], result["_tokenizer"] = student, tokenizer
    return result


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
