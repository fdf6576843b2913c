"""Quality benchmark: does CoD's gain over KD come from the counterfactuals, and which ones? (run by hand)

KD vs KD+CoD at k in {8, 16, 32, 64} x 5 seeds (SST-2 by default, ``--task``), plus controls on
the same nested budget (the CoD originals are the first k/2 of the KD set):

- ``half``: only the k/2 originals (CoD minus its counterfactuals);
- ``aug``: the k/2 originals plus a random edit of each, as many words changed as in its
  counterfactual, labelled by the teacher (CoD with uninformative edits);
- ``flip``: the editor's proposals with no teacher check, labelled 1 - the original's gold label
  (the CoD reference code's labels): its verified flips plus, for originals it could not flip,
  its best unverified candidate (``keep_unverified``; distill ``counterfactual_labels=flipped_gold``);
- ``nearest`` / ``confident``: CoD with the verified flip of lowest / highest teacher probability
  of the new label (``selection=nearest_boundary`` / ``most_confident``; ``cod`` is ``smallest``).

Every arm trains the same student for the same fixed step budget with the same optimiser (no
selection; test is only reported). Prints mean +- std test accuracy and agreement with the
teacher per (k, arm), and the paired arm - KD differences; writes every run's record to
``--out`` (jsonl, with ``cf_properties``: the mean properties of the counterfactuals it trained
on), then a table of those properties and their correlation with the paired gain over KD.

Counterfactual files: ``--counterfactuals`` (per seed, may contain {seed}) for ``cod`` and
``aug``; without it, and for the other arms, the script generates them with the offline editor and
the given teacher for the CoD originals of the largest k (nested: smaller budgets use their
first originals), cached under $CODISTILL_HOME.

    PYTHONPATH=src python benchmarks/cod_gain.py \
        --teacher teachers/sst2 --data-dir ../shared/data/sst2 \
        --counterfactuals 'outputs/cf-sst2-s{seed}/counterfactuals.jsonl'
    PYTHONPATH=src python benchmarks/cod_gain.py --task imdb --teacher teachers/imdb --ks 8 16 32 \
        --arms kd cod flip aug nearest confident --workers 2

Runs are never repeated: two arms whose training sets and settings are identical (``nearest``
when it picks the same counterfactuals as ``cod``) train once and the row is copied
(``same_training_as``); ``--reuse-sweep RESULTS`` takes any run a ``codistill sweep`` already made
with the same settings and training set (its KD and ``paper`` CoD runs, when ``--counterfactuals``
names the sweep's files; ``reused_from``); ``--resume`` keeps the rows already in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cod_gain_study import (
    SELECTION,
    cf_properties,
    differs,
    edit_size,
    generate,
    summary_extra,
    sweep_index,
    train_fingerprint,
)


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
        out.append(
            CounterfactualRecord(
                original_id=r.original_id,
                counterfactual_text=edited,
                counterfactual_label=0,
                original_text=original,
                generator="random-edit",
            )
        )
    return write_counterfactuals(directory / f"aug-seed{seed}.jsonl", out)


def summarise(rows: list[dict], ks: list[int], arms: list[str]) -> str:
    w = max(6, *(len(a) for a in arms))  # 6: the column of the original arms
    lines = [f"{'k':>3} {'arm':{w}} {'n':>2}  {'accuracy':>15}  {'agreement':>15}"]
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
            lines.append(
                f"{k:>3} {arm:{w}} {len(runs):>2}  {acc.mean():6.2f} +- {acc.std(ddof=1) if len(runs) > 1 else 0:5.2f}  {agr.mean():6.2f} +- {agr.std(ddof=1) if len(runs) > 1 else 0:5.2f}"
            )
        for arm in arms:
            if arm == "kd" or (k, arm) not in by or (k, "kd") not in by:
                continue
            seeds = sorted(set(by[(k, arm)]) & set(by[(k, "kd")]))
            if not seeds:
                continue
            d_acc = (
                np.array([by[(k, arm)][s]["test"]["accuracy"] - by[(k, "kd")][s]["test"]["accuracy"] for s in seeds])
                * 100
            )
            d_agr = (
                np.array([by[(k, arm)][s]["test"]["agreement"] - by[(k, "kd")][s]["test"]["agreement"] for s in seeds])
                * 100
            )
            sd = lambda x: x.std(ddof=1) if len(x) > 1 else 0.0  # noqa: E731
            lines.append(
                f"{k:>3} {arm + '-kd':{w + 3}}  acc {d_acc.mean():+6.2f} +- {sd(d_acc):5.2f}  agreement {d_agr.mean():+6.2f} +- {sd(d_agr):5.2f}  (paired, {len(seeds)} seeds)"
            )
    return "\n".join(lines)


#: DistillConfig overrides of each arm ("counterfactuals" is filled in per seed)
ARMS: dict[str, dict] = {
    "kd": {"cod": False},
    "cod": {"cod": True},
    "half": {"cod": True},
    # random edits rarely flip the teacher: the control keeps them (training drops non-flips by default)
    "aug": {"cod": True, "keep_non_flips": True},
    "flip": {"cod": True, "counterfactual_labels": "flipped_gold"},
    "nearest": {"cod": True},
    "confident": {"cod": True},
}


def run_job(job: dict) -> dict:
    """Train and score one (seed, k, arm); a row of the results file (runs in a worker process too)."""
    from codistill.distill import DistillConfig, distill
    from codistill.experiments.sweep import _session

    m = distill(DistillConfig.from_dict(job["config"]), session=_session()).metrics
    row = {
        "arm": job["arm"],
        **{key: m[key] for key in ("k", "seed", "method", "test", "validation", "train_set", "train_steps", "timings")},
    }
    row["counterfactual_pairs"] = m.get("counterfactual_pairs")
    row["cf_properties"] = job.get("cf_properties")
    return row


def counterfactual_files(args, data_cfg, data, session) -> dict[int, dict[str, str]]:
    """Per seed, the counterfactual file of every arm that needs one (generated where not given)."""
    from codistill.utils.paths import cache_home

    wanted = [a for a in args.arms if a in ("cod", "aug", "flip", "nearest", "confident")]
    if not wanted:
        return {s: {} for s in args.seeds}
    directory = cache_home() / "benchmarks" / "cod_gain" / f"{args.task}-{Path(args.teacher).name}"
    directory.mkdir(parents=True, exist_ok=True)
    gen_k = max(args.ks)
    files: dict[int, dict[str, str]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="cod-gain-"))
    if args.counterfactuals:
        cf_paths = {s: args.counterfactuals.format(seed=s) for s in args.seeds}
        if not any(os.path.isfile(p) for p in cf_paths.values()) and any(a in args.arms for a in ("cod", "aug")):
            sys.exit(f"no counterfactual file found ({args.counterfactuals}); cannot run the cod/aug arms")
    templates = {"nearest": args.counterfactuals_nearest, "confident": args.counterfactuals_confident}
    print(
        f"counterfactuals for the {gen_k // 2} CoD originals of k={gen_k} per seed (files in {directory})", flush=True
    )
    for seed in args.seeds:
        files[seed] = {}
        for arm in wanted:
            if arm == "aug":
                continue
            given = args.counterfactuals if arm == "cod" else templates.get(arm)
            if given:
                path = given.format(seed=seed)
                if os.path.isfile(path):
                    files[seed][arm] = path
                continue
            files[seed][arm] = str(
                generate(data_cfg, args.teacher, gen_k, seed, SELECTION[arm], arm == "flip", directory)
            )
        if "aug" in wanted:
            # random edits of the same size as cod's counterfactuals (a seed without a given file has no aug run)
            cf = args.counterfactuals.format(seed=seed) if args.counterfactuals else files[seed].get("cod")
            if not args.counterfactuals and cf is None:
                cf = str(generate(data_cfg, args.teacher, gen_k, seed, "smallest", False, directory))
            if cf and os.path.isfile(cf):
                files[seed]["aug"] = str(aug_file(session.counterfactuals(cf), data, seed, tmp))
        for arm in ("nearest", "confident"):
            if arm in files[seed] and "cod" in files[seed]:
                n, total = differs(files[seed]["cod"], files[seed][arm])
                print(
                    f"  seed {seed}: {arm} picks another counterfactual than cod for {n} of {total} originals",
                    flush=True,
                )
    return files


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True, help="fine-tuned teacher directory (codistill teacher -o DIR)")
    ap.add_argument("--task", default="sst2", help="registered binary task (sst2, imdb, sentiment140, ...)")
    ap.add_argument("--data-dir", default=None, help="the task's train/test files (default: ../shared/data/<task>)")
    ap.add_argument(
        "--counterfactuals",
        default=None,
        help="counterfactual file per seed for cod and aug, may contain {seed} "
        "(default: generated with the editor and --teacher)",
    )
    ap.add_argument(
        "--counterfactuals-nearest", default=None, help="file per seed for the nearest arm (default: generated)"
    )
    ap.add_argument(
        "--counterfactuals-confident", default=None, help="file per seed for the confident arm (default: generated)"
    )
    ap.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--arms", nargs="+", default=["kd", "cod", "half", "aug"], choices=list(ARMS))
    ap.add_argument("--recipe", default="kd")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument(
        "--workers", type=int, default=1, help="runs in this many processes, one torch thread each (1: in this process)"
    )
    ap.add_argument("--out", default="runs/cod_gain.jsonl")
    ap.add_argument(
        "--resume", action="store_true", help="keep the rows already in --out and run only the missing ones"
    )
    ap.add_argument(
        "--reuse-sweep",
        nargs="+",
        default=[],
        metavar="RESULTS",
        help="results.jsonl of codistill sweeps: a run with the same settings and training set is taken from there",
    )
    args = ap.parse_args()
    if args.data_dir is None:
        args.data_dir = f"../shared/data/{args.task}"

    from codistill.counterfactuals.fluency import NGramLM
    from codistill.data import DataConfig
    from codistill.distill import DistillConfig, DistillSession

    data_cfg = DataConfig(task=args.task, data_dir=args.data_dir)
    session = DistillSession()
    data = session.data(data_cfg)
    base = DistillConfig(data=data_cfg, teacher=args.teacher, recipe=args.recipe, save_model=False).with_overrides(
        {
            "train.max_steps": args.steps,
            "train.learning_rate": args.lr,
            "train.batch_size": args.batch_size,
            "train.select_best": False,
            "student.derive.source": "minilm-l6",
        }  # the recorded numbers: 2 pretrained MiniLM-L6 layers
    )
    files = counterfactual_files(args, data_cfg, data, session)
    signals = session.teacher(args.teacher, base.teacher_max_length, base.signals_cache, data.num_labels)
    lm = NGramLM(e.text for e in data.pool) if any(files.values()) else None
    done: list[dict] = []
    if args.resume and os.path.isfile(args.out):
        done = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    have = {(r["arm"], r["k"], r["seed"]) for r in done}
    reusable = sweep_index(args.reuse_sweep, data, signals, session) if args.reuse_sweep else {}
    jobs, reused, twins = [], [], {}  # twins: fingerprint -> the jobs that train exactly the same run
    for seed in args.seeds:
        for k in args.ks:
            for arm in args.arms:
                cf = files[seed].get(arm)
                if (arm, k, seed) in have:
                    continue
                if arm in ("cod", "aug", "flip", "nearest", "confident") and not (cf and session.counterfactuals(cf)):
                    if cf:
                        print(f"  seed {seed} k={k} {arm}: the counterfactual file is empty ({cf}); no run", flush=True)
                    continue
                cfg = base.with_overrides({"k": k, "seed": seed, "counterfactuals": cf, **ARMS[arm]})
                records = session.counterfactuals(cf) if cf else None
                props = cf_properties(cfg, data, signals, records, lm) if cf else None
                job = {"arm": arm, "config": cfg.to_dict(), "cf_properties": props}
                fp = train_fingerprint(cfg, data, signals, records)
                if fp in reusable:
                    reused.append({"arm": arm, **reusable[fp], "cf_properties": props})
                elif fp in twins:
                    twins[fp].append(job)
                else:
                    twins[fp] = [job]
                    jobs.append(job)
    copies = {(g[0]["arm"], g[0]["config"]["k"], g[0]["config"]["seed"]): g[1:] for g in twins.values() if len(g) > 1}
    print(
        f"{len(jobs)} runs to train; {len(reused)} taken from sweeps; {sum(map(len, copies.values()))} identical to another arm's run; "
        f"{len(done)} already in {args.out}",
        flush=True,
    )

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = list(done)
    started = time.perf_counter()
    with open(args.out, "a" if args.resume else "w") as sink:

        def record(row: dict) -> None:
            rows.append(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            print(
                f"[{time.perf_counter() - started:6.0f}s] seed={row['seed']} k={row['k']:2d} {row['arm']:{max(5, *map(len, args.arms))}s} acc={row['test']['accuracy']:.4f} "
                f"agreement={row['test']['agreement']:.4f} n_train={row['train_set']['size']} cf={row['train_set'].get('counterfactuals', 0)}"
                + (" (reused)" if row.get("reused_from") or row.get("same_training_as") else ""),
                flush=True,
            )
            for twin in copies.get((row["arm"], row["k"], row["seed"]), []):
                record(
                    {
                        **row,
                        "arm": twin["arm"],
                        "cf_properties": twin["cf_properties"],
                        "counterfactual_pairs": None,
                        "same_training_as": row["arm"],
                    }
                )

        for row in reused:
            record(row)
        if args.workers <= 1:
            for job in jobs:
                record(run_job(job))
        else:
            from codistill.experiments.sweep import _worker_init
            from codistill.utils.processes import run_in_pool

            run_in_pool(run_job, jobs, args.workers, record, initializer=_worker_init, initargs=(1, os.getpid()))
    print()
    print(
        f"teacher {args.teacher}; recipe {args.recipe}; {args.steps} steps, lr {args.lr}, batch {args.batch_size}; test split of {args.task}"
    )
    print(summarise(rows, args.ks, args.arms))
    print(summary_extra(rows, args.ks, args.arms))


if __name__ == "__main__":
    main()
