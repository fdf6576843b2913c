"""Training-step cost of explanation distillation, before/after (run by hand).

For each mode, builds the training data of ``codistill explain-distill`` for one k-shot budget
(the same features, collator, LoRA and ``ExplanationTrainer`` as :func:`distill_explanations`),
runs ``--steps`` optimiser steps with the library's loss (LM head at the response positions only,
rows grouped by length) and then, from the same starting weights, with the previous loss (one
right-padded batch, full (B, T, V) logits). Prints per variant the seconds per step in wall time
and in this process's CPU time (one torch thread: the CPU time is what a step takes on a quiet
machine, the wall time on a shared one is longer), the peak resident memory of the training
(reset before each variant; the variant with the smaller peak runs first) and the training loss
(with ``--lora-dropout 0`` both variants must give the same loss).

    CODISTILL_HOME=$CODISTILL_HOME OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/explain_step.py \
        -e EXPLANATIONS_DIR --modes task,both --k 64 --steps 2 --lora-dropout 0
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from codistill.explanations.student import ExplanationTrainer, mixed_loss


class FullLogitsTrainer(ExplanationTrainer):
    """The loss as computed before: full logits of one padded batch, response tokens masked."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        ids, resp = inputs["input_ids"], inputs["response_mask"]
        logits = model(input_ids=ids, attention_mask=inputs["attention_mask"], use_cache=False).logits
        mask = resp[:, 1:].float()
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), ids[:, 1:], reduction="none")
        return mixed_loss((ce * mask).sum(1) / mask.sum(1).clamp_min(1.0), inputs["kind"], self.alpha)


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    try:  # Linux: writing 5 to clear_refs resets VmHWM (the peak resident set)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def run(trainer_cls, base, features, tc, pad_id: int, alpha: float, lora) -> dict:
    from transformers import TrainerCallback

    from codistill.models.lora import apply_lora

    stamps: list[tuple[float, float]] = []  # (wall, CPU time of this process)

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            stamps.append((time.perf_counter(), time.process_time())) if not stamps else None

        def on_step_end(self, *a, **k):
            stamps.append((time.perf_counter(), time.process_time()))

    from codistill.explanations.student import ExplanationCollator

    student = apply_lora(copy.deepcopy(base), lora, "causal_lm")
    rss_before = status_mb("VmRSS")
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as work:
        trainer = trainer_cls(
            model=student,
            args=tc.trainer_arguments(work, len(features), disable_tqdm=True),
            train_dataset=features,
            data_collator=ExplanationCollator(pad_id),
            alpha=alpha,
            callbacks=[Clock()],
        )
        out = trainer.train()
    peak = status_mb("VmHWM")
    wall = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    cpu = [b[1] - a[1] for a, b in zip(stamps, stamps[1:])]
    return {
        "steps": len(wall),
        "wall_s_per_step": round(sum(wall) / len(wall), 2),
        "cpu_s_per_step": round(sum(cpu) / len(cpu), 2),
        "cpu_s_steps": [round(c, 2) for c in cpu],
        "peak_rss_training_mb": round(peak),
        "peak_above_start_mb": round(peak - rss_before),
        "train_loss": round(float(out.training_loss), 5),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-e", "--explanations", required=True)
    ap.add_argument("--student", default="smollm2-135m-instruct")
    ap.add_argument("--modes", default="task,both")
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--lora-dropout", type=float, default=0.05)
    ap.add_argument(
        "--variants", default="response,full", help="response: the library's loss; full: the previous full-logits loss"
    )
    args = ap.parse_args()

    from codistill.data import load_task
    from codistill.explanations.config import ExplainDistillConfig
    from codistill.explanations.run import load_explanations, training_records
    from codistill.explanations.seq2seq import load_student
    from codistill.explanations.student import build_features
    from codistill.models.loading import load_tokenizer, quiet_transformers

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    quiet_transformers()
    t0 = time.process_time()
    base = None
    for mode in args.modes.split(","):
        config = ExplainDistillConfig.from_dict(
            {
                "explanations": args.explanations,
                "student": args.student,
                "mode": mode,
                "k": args.k,
                "seed": args.seed,
                "lora": {"r": 8, "dropout": args.lora_dropout},
                "train": {
                    "max_steps": args.steps,
                    "batch_size": args.batch_size,
                    "learning_rate": 1e-3,
                    "max_length": args.max_length,
                    "logging_steps": 1000,
                },
            }
        )
        source, records, _ = load_explanations(config.explanations)
        data = load_task(source.data)
        _, shots, train_records = training_records(config, source, records, data)
        tokenizer = load_tokenizer(config.student)
        if base is None:
            base = load_student(config.student)
            if base.config.pad_token_id is None:
                base.config.pad_token_id = tokenizer.pad_token_id
            print(
                json.dumps(
                    {"load_cpu_s": round(time.process_time() - t0, 1), "rss_loaded_mb": round(status_mb("VmRSS"))}
                ),
                flush=True,
            )
        tc = config.train.with_overrides({"seed": config.seed})
        features = build_features(
            tokenizer,
            train_records,
            mode,
            config.prompts,
            list(data.task.label_names),
            [e.label for e in shots],
            tc.max_length,
        )
        alpha = 1.0 if mode == "task" else config.alpha
        rows = sum(len(f["sequences"]) for f in features) / len(features) * args.batch_size
        for variant in args.variants.split(","):
            cls = ExplanationTrainer if variant == "response" else FullLogitsTrainer
            result = run(cls, base, features, tc, tokenizer.pad_token_id, alpha, config.lora)
            print(
                json.dumps(
                    {
                        "mode": mode,
                        "variant": variant,
                        "k": args.k,
                        "batch_size": args.batch_size,
                        "sequences_per_step": rows,
                        "max_length": args.max_length,
                        "lora_dropout": args.lora_dropout,
                        **result,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
