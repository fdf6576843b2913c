"""Training-step cost of explanation distillation (run by hand; one mode per process).

Builds the training data of ``codistill explain-distill`` for one k-shot budget and mode (the
same features, collator, LoRA and ``ExplanationTrainer`` as :func:`distill_explanations`), runs
``--steps`` optimiser steps and prints seconds per step (the first step, which warms up the
allocator, is reported apart) and the training's peak resident memory (the peak is reset after
the student is loaded, so loading the GGUF does not hide it).

    CODISTILL_HOME=/work/cache OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/explain_step.py \
        -e /work/cache/i12-bench/explanations-rt --mode both --k 64 --steps 3

Run it against another checkout (``PYTHONPATH=<other>/src``) to compare code versions: it only
uses APIs both sides have.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    try:  # Linux: writing 5 to clear_refs resets VmHWM (the peak resident set)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-e", "--explanations", required=True)
    ap.add_argument("--student", default="smollm2-135m-instruct")
    ap.add_argument("--mode", default="both")
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=96)
    args = ap.parse_args()

    import torch
    from transformers import TrainerCallback

    from codistill.data import load_task
    from codistill.explanations.config import ExplainDistillConfig
    from codistill.explanations.run import load_explanations, training_records
    from codistill.explanations.seq2seq import load_student
    from codistill.explanations.student import ExplanationCollator, ExplanationTrainer, build_features
    from codistill.models.lora import LoraSettings, apply_lora
    from codistill.models.loading import load_tokenizer, quiet_transformers

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    quiet_transformers()
    config = ExplainDistillConfig.from_dict({
        "explanations": args.explanations, "student": args.student, "mode": args.mode, "k": args.k, "seed": args.seed,
        "lora": {"r": 8}, "train": {"max_steps": args.steps, "batch_size": args.batch_size, "learning_rate": 1e-3,
                                    "max_length": args.max_length, "logging_steps": 1000},
    })
    source, records, _ = load_explanations(config.explanations)
    data = load_task(source.data)
    _, shots, train_records = training_records(config, source, records, data)
    tokenizer = load_tokenizer(config.student)
    student = load_student(config.student)
    if student.config.pad_token_id is None:
        student.config.pad_token_id = tokenizer.pad_token_id
    student = apply_lora(student, config.lora, "causal_lm")
    tc = config.train.with_overrides({"seed": config.seed})
    features = build_features(tokenizer, train_records, config.mode, config.prompts, list(data.task.label_names),
                              [e.label for e in shots], tc.max_length)
    alpha = 1.0 if config.mode == "task" else config.alpha

    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            stamps.append(time.perf_counter()) if not stamps else None

        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    loaded_rss = rss_mb("VmRSS")
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as work:
        trainer = ExplanationTrainer(model=student, args=tc.trainer_arguments(work, len(features), disable_tqdm=True), train_dataset=features,
                                     data_collator=ExplanationCollator(tokenizer.pad_token_id), alpha=alpha, callbacks=[Clock()])
        out = trainer.train()
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    later = steps[1:] or steps
    print(json.dumps({
        "mode": args.mode, "k": args.k, "batch_size": args.batch_size, "max_length": args.max_length, "steps": len(steps),
        "sequences_per_step": round(sum(len(f["sequences"]) for f in features) / len(features) * args.batch_size, 1),
        "first_step_s": round(steps[0], 2), "s_per_step_after_first": round(sum(later) / len(later), 2),
        "rss_after_load_mb": round(loaded_rss), "peak_rss_training_mb": round(rss_mb("VmHWM")),
        "train_loss": round(float(out.training_loss), 4), "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg()[0],
    }))


if __name__ == "__main__":
    main()
