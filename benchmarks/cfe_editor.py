"""Benchmark of the offline counterfactual editor (run by hand, never in CI).

    PYTHONPATH=src python benchmarks/cfe_editor.py --teacher teachers/sst2 \\
        --data-dir ../shared/data/sst2 --n 500 [--set editor.first_round=4 ...]

Generates counterfactuals for n SST-2 CoD originals (k = 2n, seed 0) with the teacher, reports
validity (overall and by the teacher's class), edited words, teacher p(new label), fluency,
verified counterfactuals per second (generation only: teacher on originals, saliency, candidate
checks; model loading excluded), then runs again on the same cache to show that the second run is
served entirely from it (no teacher, no new calls).

``--screen bf16`` screens candidates with a bf16 copy of the teacher (``verify.screen_dtype``; the
exact teacher confirms each winning flip) and reports the screening counters (winners the exact
teacher vetoed, near-boundary flips it rescued, texts scored by each); ``--compare DIR`` compares the
chosen counterfactuals with an earlier run's output directory (e.g. the exact run's ``--output``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True, help="fine-tuned teacher directory (codistill teacher -o DIR)")
    ap.add_argument("--data-dir", default="../shared/data/sst2")
    ap.add_argument("--task", default="sst2")
    ap.add_argument("--n", type=int, default=500, help="originals (k = 2n)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--selection", default="smallest")
    ap.add_argument("--generator", default="editor", help="editor, hf-chat or openai")
    ap.add_argument("--set", action="append", default=[], help="config override, e.g. editor.first_round=4")
    ap.add_argument("--output", default=None, help="keep the output directory here")
    ap.add_argument("--examples", type=int, default=8)
    ap.add_argument("--no-second-run", action="store_true", help="skip the all-from-cache rerun")
    ap.add_argument(
        "--screen",
        choices=["none", "bf16"],
        default="none",
        help="verify.screen_dtype (the exact teacher confirms each winning flip)",
    )
    ap.add_argument(
        "--shard",
        default=None,
        help="I/N: only every N-th original from the I-th (0-based), to spread one "
        "benchmark over processes on a shared machine; add up the shards' counts and CPU seconds",
    )
    ap.add_argument(
        "--compare",
        default=None,
        help="an earlier run's output directory: how many chosen counterfactuals are the same",
    )
    args = ap.parse_args()

    import torch

    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    tmp = tempfile.mkdtemp(prefix="cfe-bench-")
    cfg = CounterfactualConfig.from_dict(
        {
            "data": {"task": args.task, "data_dir": args.data_dir},
            "k": 2 * args.n,
            "seed": args.seed,
            "teacher": args.teacher,
            "generator": args.generator,
            "selection": args.selection,
            "cache_dir": os.path.join(tmp, "cache"),
            "output_dir": args.output or os.path.join(tmp, "out"),
            "progress": False,
            "report_sample": args.examples,
            "verify": {"screen_dtype": args.screen},
        }
    ).with_overrides(args.set)
    quiet = lambda *a, **k: None  # noqa: E731
    t0 = time.monotonic()
    originals = None
    if args.shard:
        from codistill.data import load_task, sample

        index, count = (int(x) for x in args.shard.split("/"))
        originals = list(sample(load_task(cfg.data), cfg.k, cfg.seed, cod=True).examples)[index::count]
    first = run_counterfactuals(cfg, echo=quiet, originals=originals)
    t_first = time.monotonic() - t0
    t1 = time.monotonic()
    second = first if args.no_second_run else run_counterfactuals(cfg, echo=quiet, originals=originals)
    t_second = time.monotonic() - t1
    rep, run = first.report, first.run
    from codistill.counterfactuals.text import edited_words, words

    fractions = [
        edited_words(r.original_text, r.counterfactual_text) / max(1, len(words(r.original_text)))
        for r in first.records
    ]
    causes: dict[str, int] = {}
    for f in first.failures:
        if f.get("final"):
            causes[f["reason"]] = causes.get(f["reason"], 0) + 1
    summary = {
        "task": args.task,
        "teacher": args.teacher,
        "seed": args.seed,
        "overrides": args.set,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cpus, torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}",
        "original_words_mean": round(
            sum(len(words(r.original_text)) for r in first.records) / max(1, len(first.records)), 1
        ),
        "edit_fraction_of_words_mean": round(sum(fractions) / max(1, len(fractions)), 4),
        "final_failures_by_cause": causes,
        "originals": rep["originals"],
        "validity": rep["validity"],
        "validity_by_class": {k: v["validity"] for k, v in rep["validity_by_class"].items()},
        "edited_words_mean": rep["edited_words"]["mean"],
        "edited_words_hist": rep["edited_words"]["histogram"],
        "char_edit_ratio": rep["char_edit_ratio"]["mean"],
        "semantic_similarity": rep["semantic_similarity"]["mean"],
        "p_new_label_mean": rep["teacher"]["mean_prob_new_label"],
        "margin_shift": rep["teacher"]["mean_margin_shift"],
        "fluency": rep.get(
            "fluency"
        ),  # perplexity original -> counterfactual and median ratio (report_lm, else the pool n-gram)
        "failures": rep["failures"],
        "generation_seconds": run["generation_seconds"],
        "verified_per_second": run["verified_per_second"],
        "generation_cpu_seconds": run["generation_cpu_seconds"],
        "valid": run["valid"],
        "shard": args.shard,
        "teacher_texts_scored": run["teacher_texts_scored"],
        "texts_per_input": round(run["teacher_texts_scored"] / rep["originals"], 2),
        "first_run_total_seconds": round(t_first, 2),
        "screening": run.get("screening"),
        "compare": compare_outputs(first.records, args.compare) if args.compare else None,
        "second_run": {
            "seconds": round(t_second, 2),
            "cached_outcomes": second.run["cached_outcomes"],
            "teacher_texts_scored": second.run["teacher_texts_scored"],
            "new_calls": second.run["ledger"]["calls"],
            "identical": [r.to_dict() for r in second.records] == [r.to_dict() for r in first.records],
        },
    }
    print(json.dumps(summary, indent=2))
    print("output:", first.output_dir)
    for s in rep["sample"]:
        print(f"[{s['labels']} p={s['p_new']}]  {s['original']}\n{'':>8}-> {s['counterfactual']}")


def compare_outputs(records, other_dir: str) -> dict:
    """Originals both runs flipped, and how many of them got the same counterfactual text."""
    from pathlib import Path

    from codistill.counterfactuals.record import read_counterfactuals

    theirs = {
        r.original_id: r.counterfactual_text
        for r in read_counterfactuals(Path(other_dir) / "counterfactuals.jsonl")
        if not r.meta.get("rank")
    }
    ours = {r.original_id: r.counterfactual_text for r in records if not r.meta.get("rank")}
    both = set(ours) & set(theirs)
    return {
        "other": other_dir,
        "ours": len(ours),
        "theirs": len(theirs),
        "both": len(both),
        "same_text": sum(ours[i] == theirs[i] for i in both),
    }


if __name__ == "__main__":
    main()
