"""Quality benchmark: does CoD's gain over KD come from the counterfactuals? (run by hand)

KD vs KD+CoD at k in {8, 16, 32, 64} x 5 seeds on SST-2, plus two controls on the same nested
budget (the CoD originals are the first k/2 of the KD set):

- ``half``: only the k/2 originals (CoD minus its counterfactuals);
- ``aug``: the k/2 originals plus a random edit of each, as many words changed as in its
  counterfactual, labelled by the teacher (CoD with uninformative edits).

Every arm trains the same student for the same fixed step budget with the same optimiser (no
selection; test is only reported). Prints mean +- std test accuracy and agreement with the
teacher per (k, arm), and the paired CoD - KD differences; writes every run's record to
``--out`` (jsonl).

    PYTHONPATH=src python benchmarks/cod_gain.py \
        --teacher teachers/sst2 --data-dir ../shared/data/sst2 \
        --counterfactuals 'outputs/cf-sst2-s{seed}/counterfactuals.jsonl'
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def edit_size(a: str, b: str) -> int:
    """Words changed between two texts (replaced, inserted or deleted)."""
    sm = difflib.SequenceMatcher(a=a.split(), b=b.split(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")


def random_edit(text: str, n: int, vocab: list[str], rng: random.Random) -> str:
    words = text.split()
    if not words:
        return text
    for pos in rng.sample(range(len(words)), min(max(n, 1), len(words))):
        words[pos] = rng.choice(vocab)
    return " ".join(words)


def aug_file(records, data, seed: int, directory: Path) -> Path:
    """Random edits of the same size as each counterfactual (labels: set by the engine's teacher)."""
    from codistill.counterfactuals import CounterfactualRecord, write_counterfactuals

    rng = random.Random(seed)
    vocab = sorted({w for e in data.pool[:5000] for w in e.text.split()})
    texts = {e.id: e.text for e in data.pool}
    out = []
    for r in records:
        original = r.original_text or texts.get(r.original_id)
        if not original:
            continue
        edited = random_edit(original, edit_size(original, r.counterfactual_text), vocab, rng)
        # the label is a placeholder: distill labels every counterfactual with its teacher
        out.append(CounterfactualRecord(original_id=r.original_id, counterfactual_text=edited, counterfactual_label=0, original_text=original, generator="random-edit"))
    return write_counterfactuals(directory / f"aug-seed{seed}.jsonl", out)


def summarise(rows: list[dict], ks: list[int], arms: list[str]) -> str:
    lines = [f"{'k':>3} {'arm':6} {'n':>2}  {'accuracy':>15}  {'agreement':>15}"]
    by = {}
    for r in rows:
        by.setdefault((r["k"], r["arm"]), {})[r["seed"]] = r
    for k in ks:
        for arm in arms:
            runs = list(by.get((k, arm), {}).values())
            if not runs:
                continue
            acc = np.array([r["test"]["accuracy"] for r in runs]) * 100
            agr = np.array([r["test"]["agreement"] for r in runs]) * 100
            lines.append(f"{k:>3} {arm:6} {len(runs):>2}  {acc.mean():6.2f} +- {acc.std(ddof=1) if len(runs) > 1 else 0:5.2f}  {agr.mean():6.2f} +- {agr.std(ddof=1) if len(runs) > 1 else 0:5.2f}")
        for arm in arms:
            if arm == "kd" or (k, arm) not in by or (k, "kd") not in by:
                continue
            seeds = sorted(set(by[(k, arm)]) & set(by[(k, "kd")]))
            if not seeds:
                continue
            d_acc = np.array([by[(k, arm)][s]["test"]["accuracy"] - by[(k, "kd")][s]["test"]["accuracy"] for s in seeds]) * 100
            d_agr = np.array([by[(k, arm)][s]["test"]["agreement"] - by[(k, "kd")][s]["test"]["agreement"] for s in seeds]) * 100
            sd = lambda x: x.std(ddof=1) if len(x) > 1 else 0.0  # noqa: E731
            lines.append(f"{k:>3} {arm + '-kd':9}  acc {d_acc.mean():+6.2f} +- {sd(d_acc):5.2f}  agreement {d_agr.mean():+6.2f} +- {sd(d_agr):5.2f}  (paired, {len(seeds)} seeds)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True, help="fine-tuned teacher directory (codistill teacher -o DIR)")
    ap.add_argument("--data-dir", default="../shared/data/sst2")
    ap.add_argument("--counterfactuals", required=True, help="counterfactual file per seed, may contain {seed}")
    ap.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--arms", nargs="+", default=["kd", "cod", "half", "aug"])
    ap.add_argument("--recipe", default="kd")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--out", default="runs/cod_gain.jsonl")
    args = ap.parse_args()

    from codistill.data import DataConfig
    from codistill.distill import DistillConfig, DistillSession, distill

    cf_paths = {s: args.counterfactuals.format(seed=s) for s in args.seeds}
    available = {s: p for s, p in cf_paths.items() if os.path.isfile(p)}
    if not available and any(a in args.arms for a in ("cod", "aug")):
        sys.exit(f"no counterfactual file found ({args.counterfactuals}); cannot run the cod/aug arms")

    data_cfg = DataConfig(task="sst2", data_dir=args.data_dir)
    session = DistillSession()
    data = session.data(data_cfg)
    base = DistillConfig(data=data_cfg, teacher=args.teacher, recipe=args.recipe, save_model=False).with_overrides(
        {"train.max_steps": args.steps, "train.learning_rate": args.lr, "train.batch_size": args.batch_size, "train.select_best": False,
         "student.derive.source": "minilm-l6"}  # the recorded numbers: 2 pretrained MiniLM-L6 layers
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="cod-gain-"))
    started = time.perf_counter()
    with open(args.out, "w") as sink:
        for seed in args.seeds:
            cf = available.get(seed)
            aug = aug_file(session.counterfactuals(cf), data, seed, tmp) if cf and "aug" in args.arms else None
            for k in args.ks:
                arms = {
                    "kd": {"cod": False, "counterfactuals": None},
                    "cod": {"cod": True, "counterfactuals": cf},
                    "half": {"cod": True, "counterfactuals": None},
                    # random edits rarely flip the teacher: the control keeps them (training drops non-flips by default)
                    "aug": {"cod": True, "counterfactuals": str(aug) if aug else None, "keep_non_flips": True},
                }
                for arm in args.arms:
                    if arm in ("cod", "aug") and not arms[arm]["counterfactuals"]:
                        continue
                    cfg = base.with_overrides({"k": k, "seed": seed, **arms[arm]})
                    m = distill(cfg, session=session).metrics
                    row = {"arm": arm, **{key: m[key] for key in ("k", "seed", "method", "test", "validation", "train_set", "train_steps", "timings")}}
                    row["counterfactual_pairs"] = m.get("counterfactual_pairs")
                    rows.append(row)
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
                    print(
                        f"[{time.perf_counter() - started:6.0f}s] seed={seed} k={k:2d} {arm:5s} acc={m['test']['accuracy']:.4f} "
                        f"agreement={m['test']['agreement']:.4f} n_train={m['train_set']['size']} cf={m['train_set'].get('counterfactuals', 0)}",
                        flush=True,
                    )
    print()
    print(f"teacher {args.teacher}; recipe {args.recipe}; {args.steps} steps, lr {args.lr}, batch {args.batch_size}; test split of SST-2")
    print(summarise(rows, args.ks, args.arms))


if __name__ == "__main__":
    main()
