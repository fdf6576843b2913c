"""Benchmark: SmolLM2-135M-Instruct as a few-shot verbalizer teacher, distilled into the 2-layer
MiniLM student on rotten_tomatoes, KD vs KD+CoD (run by hand, never in CI).

    OMP_NUM_THREADS=1 CODISTILL_HOME=/tmp/llm-bench PYTHONPATH=src python benchmarks/llm_teacher.py

Steps: (1) the packaged GGUF LM becomes a prompted verbalizer teacher (`codistill teacher` with
head=verbalizer, finetune=false, 2 class-alternating demonstrations from the pool); (2) the
offline editor generates counterfactuals for the CoD originals of k=16 (which contain those of
k=8), verified and labelled *through the verbalizer*; (3) KD and KD+CoD students (MiniLM, 2 of 6
layers) for k in {8, 16} x seeds {0, 1}, fixed step budget, no selection. Validation and test are
cut to stratified subsets (--val / --test) so the 135M teacher scores them in minutes on a CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--val", type=int, default=60)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--shots", type=int, default=2, help="demonstrations in the teacher prompt")
    ap.add_argument("--ks", default="8,16")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--out", default="runs/bench-llm-teacher")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals
    from codistill.counterfactuals.record import write_counterfactuals
    from codistill.data import DataConfig, load_task
    from codistill.distill import DistillConfig, distill
    from codistill.distill.session import DistillSession
    from codistill.teacher import TeacherConfig, train_teacher
    from codistill.teacher.finetune import subsample

    t0 = time.perf_counter()
    data_cfg = DataConfig(task="rotten_tomatoes")
    full = load_task(data_cfg)
    data = dataclasses.replace(
        full,
        validation=subsample(full.validation, args.val, 0),
        test=subsample(full.test, args.test, 0),
        _fingerprint=None,
    )
    tcfg = TeacherConfig(
        model="smollm2-135m-instruct",
        data=data_cfg,
        head="verbalizer",
        finetune=False,
        max_eval_examples=2,
        verbalizer={"num_demonstrations": args.shots, "label_words": ["negative", "positive"]},
        output_dir=str(out / "teacher"),
    )
    teacher = train_teacher(tcfg, data=data)
    timings = {"teacher_build": time.perf_counter() - t0}

    ks = [int(k) for k in args.ks.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    cf_files = {}
    t1 = time.perf_counter()
    for seed in seeds:
        cfg = CounterfactualConfig(
            data=data_cfg,
            k=max(ks),
            seed=seed,
            teacher=str(teacher.path),
            teacher_batch_size=16,
            progress=False,
            report_similarity=False,
            output_dir=str(out / f"cf-s{seed}"),
            editor={"max_rounds": 3, "first_round": 4, "candidates_per_round": 4},
        )
        res = run_counterfactuals(cfg, echo=lambda *a: None)
        cf_files[seed] = (
            str(res.output_dir / "counterfactuals.jsonl")
            if (res.output_dir / "counterfactuals.jsonl").is_file()
            else None
        )
        if cf_files[seed] is None:  # keep the records we got in a file of our own
            cf_files[seed] = str(write_counterfactuals(out / f"cf-s{seed}.jsonl", res.records))
        print(f"seed {seed}: {len(res.records)} verified counterfactuals of {max(ks) // 2} originals")
    timings["counterfactuals"] = time.perf_counter() - t1

    session = DistillSession()
    rows = []
    t2 = time.perf_counter()
    for k in ks:
        for seed in seeds:
            for cod in (False, True):
                cfg = DistillConfig(
                    data=data_cfg,
                    teacher=str(teacher.path),
                    k=k,
                    seed=seed,
                    cod=cod,
                    counterfactuals=cf_files[seed] if cod else None,
                    save_model=False,
                ).with_overrides([f"train.max_steps={args.steps}"])
                m = distill(cfg, session=session, data=data).metrics
                row = {
                    "k": k,
                    "seed": seed,
                    "method": "kd+cod" if cod else "kd",
                    "accuracy": m["test"]["accuracy"],
                    "agreement": m["test"]["agreement"],
                    "teacher_accuracy": m["test"]["teacher"]["accuracy"],
                    "train_size": m["train_set"]["size"],
                }
                rows.append(row)
                print(json.dumps(row))
    timings["distill"] = time.perf_counter() - t2
    with open(out / "records.jsonl", "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    print("\nk  method   test acc (mean over seeds)  agreement   teacher acc")
    for k in ks:
        for method in ("kd", "kd+cod"):
            sel = [r for r in rows if r["k"] == k and r["method"] == method]
            print(
                f"{k:<3}{method:<9}{statistics.mean(r['accuracy'] for r in sel):.3f}  {[round(r['accuracy'], 3) for r in sel]}   "
                f"{statistics.mean(r['agreement'] for r in sel):.3f}   {sel[0]['teacher_accuracy']:.3f}"
            )
    print("timings (s):", {k: round(v) for k, v in timings.items()}, "total", round(time.perf_counter() - t0))


if __name__ == "__main__":
    main()
