"""Selection grid for the default student, learning rate and step budget (run by hand).

Scored on VALIDATION FIDELITY TO THE TEACHER only: no gold labels, and the test split is never
scored (``eval.test: false``). Every cell is a KD run (with ``--counterfactuals``: KD+CoD) on a fixed step budget
(no checkpoint selection) at each k and seed; the table ranks the cells by mean validation
agreement (or, with ``--rank-by kl``, KL(teacher || student), for imbalanced tasks) over k and seeds. Writes every run's record to ``--out`` (jsonl) and prints a markdown
table for docs/results.md ("Student selection").

    PYTHONPATH=src python benchmarks/select_student.py --teacher TEACHER_DIR \\
        --data-dir ../shared/data/sst2 --ks 16 64 --seeds 0 --lrs 5e-5 1e-4 2e-4 --steps 100 200
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

# name -> student section of the distill config
STUDENTS = {
    "teacher-derived (every other layer)": {"derive": {"source": "teacher"}},
    "minilm-l6 whole": {"path": "minilm-l6", "derive": None},
    "minilm-l6 whole, probe head": {"path": "minilm-l6", "derive": None, "head_probe": True},
    "minilm-l6 2 layers": {"derive": {"source": "minilm-l6", "layers": 2}},
    # sentence-encoder students: mean-pooled as all-MiniLM-L6-v2 was trained, a linear head
    "minilm-l6 pooled": {"kind": "pooled", "path": "minilm-l6", "derive": None},
    "minilm-l6 pooled, contrastive": {"kind": "pooled", "path": "minilm-l6", "derive": None, "contrastive": {}},
    "teacher-derived pooled": {"kind": "pooled", "derive": {"source": "teacher"}},
    "teacher-derived pooled, contrastive": {"kind": "pooled", "derive": {"source": "teacher"}, "contrastive": {}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--ks", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--lrs", type=float, nargs="+", default=[5e-5, 1e-4, 2e-4])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--students", nargs="+", default=list(STUDENTS), choices=list(STUDENTS))
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument(
        "--counterfactuals",
        default=None,
        help="counterfactual file pattern with {seed} (e.g. cf/s{seed}/counterfactuals.jsonl): the cells run "
        "KD+CoD in --cod-mode instead of KD",
    )
    parser.add_argument("--cod-mode", default="full", choices=["paper", "full", "multi"])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--out", default="runs/select-student.jsonl")
    parser.add_argument(
        "--rank-by",
        choices=["agreement", "kl"],
        default="agreement",
        help="agreement (higher is better) or KL(teacher || student) (lower is better; label-free and, unlike "
        "agreement, not won by predicting the teacher's majority label on an imbalanced task such as CoLA)",
    )
    args = parser.parse_args()

    from codistill.data import DataConfig
    from codistill.distill import DistillConfig, DistillSession, distill
    from codistill.distill.config import StudentConfig

    session = DistillSession()
    data_cfg = DataConfig(task=args.task, data_dir=args.data_dir)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(args.out, "a", encoding="utf-8") as sink:
        for student, lr, steps, k, seed in itertools.product(args.students, args.lrs, args.steps, args.ks, args.seeds):
            cfg = DistillConfig(
                data=data_cfg,
                teacher=args.teacher,
                recipe="kd",
                k=k,
                seed=seed,
                save_model=False,
                student=StudentConfig(**STUDENTS[student]),
                cod=args.counterfactuals is not None,
                cod_mode=args.cod_mode,
                counterfactuals=args.counterfactuals.format(seed=seed) if args.counterfactuals else None,
            ).with_overrides(
                {
                    "train.max_steps": steps,
                    "train.learning_rate": lr,
                    "train.batch_size": args.batch_size,
                    "train.select_best": False,
                    "train.max_length": args.max_length,
                    "eval.test": False,
                }
            )
            started = time.perf_counter()
            m = distill(cfg, session=session).metrics
            assert "test" not in m  # selection never sees the test split
            row = {
                "student": student,
                "lr": lr,
                "steps": steps,
                "k": k,
                "seed": seed,
                "validation_agreement": m["validation"]["agreement"],
                "validation_kl": m["validation"]["kl_teacher_student"],
                "parameters": m["student_info"]["parameters"],
                "seconds": round(time.perf_counter() - started, 1),
            }
            rows.append(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            print(json.dumps(row), flush=True)

    metric = "validation_agreement" if args.rank_by == "agreement" else "validation_kl"
    sign = -1 if args.rank_by == "agreement" else 1  # sort best first
    bold = {"agreement": "**" if args.rank_by == "agreement" else "", "kl": "**" if args.rank_by == "kl" else ""}
    print(
        f"\nranked by validation {args.rank_by} (mean over k and seeds); validation agreement % per k, then both means"
    )
    print(f"\n| student | params | lr | steps | {' | '.join(f'k={k}' for k in args.ks)} | agreement | KL | s/run |")
    print("|---|---|---|---|" + "---|" * len(args.ks) + "---|---|---|")
    cells = {}
    for (student, lr, steps), group in itertools.groupby(
        sorted(rows, key=lambda r: (r["student"], r["lr"], r["steps"])),
        key=lambda r: (r["student"], r["lr"], r["steps"]),
    ):
        cells[(student, lr, steps)] = list(group)
    for (student, lr, steps), group in sorted(cells.items(), key=lambda kv: sign * np.mean([r[metric] for r in kv[1]])):
        per_k = [np.mean([r["validation_agreement"] for r in group if r["k"] == k]) for k in args.ks]
        agreement = np.mean([r["validation_agreement"] for r in group])
        kl = np.mean([r["validation_kl"] for r in group])
        print(
            f"| {student} | {group[0]['parameters'] / 1e6:.1f}M | {lr:g} | {steps} | "
            + " | ".join(f"{100 * a:.1f}" for a in per_k)
            + f" | {bold['agreement']}{100 * agreement:.1f}{bold['agreement']} | {bold['kl']}{kl:.3f}{bold['kl']}"
            + f" | {np.mean([r['seconds'] for r in group]):.0f} |"
        )


if __name__ == "__main__":
    main()
