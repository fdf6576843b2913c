"""What makes a counterfactual useful: the counterfactual files and statistics of ``cod_gain.py``.

* :func:`generate` makes a seed's counterfactual file with the offline editor through the Python
  API (outcomes cached under ``$CODISTILL_HOME/counterfactuals``, so reruns cost nothing): any
  selection rule, and with ``keep_unverified`` the best unchecked candidate of every original the
  teacher could not be flipped on (the ``flip`` arm trains on those too, labelled 1 - gold).
* :func:`cf_properties` describes the counterfactuals one run actually trains on (the training
  set distill builds, with the labels it uses): edit size in words and as a fraction of the
  original, the teacher's probability of the new label and its shift from the original, the
  fraction the teacher verifies, the fraction whose training label the teacher agrees with, and
  the bigram-LM log perplexity ratio (counterfactual / original, LM fitted on the task's pool).
* :func:`train_fingerprint` names what a run's result depends on: its settings (the counterfactual
  file's path aside) and the training set distill builds from it; two runs with the same
  fingerprint train the same student on CPU, so ``cod_gain.py`` trains one and copies it (an arm
  whose selection picks the same counterfactuals as ``cod``), and :func:`sweep_index` lets it take
  the KD and CoD runs of a ``codistill sweep`` over the same budgets instead of repeating them.
* :func:`correlation_table` relates those per-(seed, k, arm) means to the paired gain over KD on
  the same seed and budget: Spearman and Pearson over all points, and Spearman within a budget
  (property and gain centred per (seed, k), so the spread of seeds and k does not drive it).
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path

import numpy as np

#: selection rule of each counterfactual arm (``flip``: the smallest edits, unverified ones included)
SELECTION = {"cod": "smallest", "flip": "smallest", "nearest": "nearest_boundary", "confident": "most_confident"}
PROPERTIES = (
    "edit_words",
    "edit_fraction",
    "p_new",
    "teacher_shift",
    "verified",
    "label_agrees_teacher",
    "log_ppl_ratio",
    "n_cf",
)


def edit_size(a: str, b: str) -> int:
    """Words changed between two texts (replaced, inserted or deleted)."""
    sm = difflib.SequenceMatcher(a=a.split(), b=b.split(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")


def generate(data_cfg, teacher: str, k: int, seed: int, selection: str, keep_unverified: bool, directory: Path) -> Path:
    """The editor's counterfactuals for the CoD originals of (k, seed), written to ``directory``."""
    from codistill.counterfactuals import write_counterfactuals
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    cfg = CounterfactualConfig(
        data=data_cfg,
        k=k,
        seed=seed,
        teacher=teacher,
        selection=selection,
        keep_unverified=keep_unverified,
        report_similarity=False,
    )
    result = run_counterfactuals(cfg, write=False, echo=lambda *a, **kw: None)
    unverified = sum(1 for r in result.records if not r.meta.get("verified", True))
    print(
        f"  seed {seed} {selection}{' +unverified' if keep_unverified else ''}: {len(result.records) - unverified} verified"
        f"{f' + {unverified} unverified' if keep_unverified else ''} of {result.run['originals']} originals "
        f"({result.run['cached_outcomes']} from the cache, {result.run['seconds']:.0f}s)",
        flush=True,
    )
    name = f"{data_cfg.task}-k{k}-s{seed}-{selection}{'-unverified' if keep_unverified else ''}.jsonl"
    return write_counterfactuals(directory / name, result.records)


def differs(a_path: str, b_path: str) -> tuple[int, int]:
    """(originals whose counterfactual differs, originals in both files): do two selections disagree?"""
    from codistill.counterfactuals import read_counterfactuals

    a = {r.original_id: r.counterfactual_text for r in read_counterfactuals(a_path)}
    b = {r.original_id: r.counterfactual_text for r in read_counterfactuals(b_path)}
    both = set(a) & set(b)
    return sum(a[i] != b[i] for i in both), len(both)


def cf_properties(config, data, signals, records, lm) -> dict[str, float] | None:
    """Mean properties of the counterfactuals the run of ``config`` trains on (None: it has none)."""
    from codistill.distill.trainset import build_train_set

    train = build_train_set(config, data, signals, records)
    originals = {e.id: e for e in train.originals}
    items = [i for i in train.items if i.is_counterfactual]
    if not items:
        return None
    orig_texts = [originals[i.source_id].text for i in items]
    p_orig = softmax(signals.logits(orig_texts))
    p_cf = softmax(signals.logits([i.text for i in items]))
    rows = []
    for item, text, po, pc in zip(items, orig_texts, p_orig, p_cf):
        new = 1 - int(po.argmax())
        words = edit_size(text, item.text)
        rows.append(
            {
                "edit_words": words,
                "edit_fraction": words / max(1, len(text.split())),
                "p_new": float(pc[new]),
                "teacher_shift": float(pc[new] - po[new]),
                "verified": float(int(pc.argmax()) == new),
                "label_agrees_teacher": float(item.label == int(pc.argmax())),
                "log_ppl_ratio": math.log(lm.perplexity(item.text) / lm.perplexity(text)),
            }
        )
    out = {name: float(np.mean([r[name] for r in rows])) for name in rows[0]}
    out["n_cf"] = float(len(items))
    return out


def train_fingerprint(config, data, signals, records) -> str:
    """sha256 of the run's inputs (settings without the counterfactual file's path) and its training set."""
    import hashlib
    import json

    from codistill.distill.trainset import build_train_set
    from codistill.experiments.records import run_inputs

    settings = run_inputs(config.to_dict(), "", None)["distill"]
    settings.pop("counterfactuals", None)
    train = build_train_set(config, data, signals, records)
    items = [(i.text, i.label, i.group, i.is_counterfactual, i.source_id) for i in train.items]
    return hashlib.sha256(json.dumps([settings, items], sort_keys=True, default=str).encode()).hexdigest()


def sweep_index(results_files: list[str], data, signals, session) -> dict[str, dict]:
    """fingerprint -> a ``cod_gain`` row (no arm yet) for every record of the given sweep results files.

    A record counts only if its counterfactual file still has the sha256 the sweep recorded."""
    import json

    from codistill.distill import DistillConfig
    from codistill.experiments.sweep import file_sha256

    index: dict[str, dict] = {}
    for path in results_files:
        for line in Path(path).read_text().splitlines():
            rec = json.loads(line)
            cfg = DistillConfig.from_dict(rec["config"]["distill"])
            cf = cfg.counterfactuals
            if cf and file_sha256(cf) != rec.get("inputs", {}).get("counterfactuals_sha256"):
                print(f"  {path}: {rec['id']}: its counterfactual file changed since the sweep; not reused", flush=True)
                continue
            fp = train_fingerprint(cfg, data, signals, session.counterfactuals(cf) if cf else None)
            ts = rec.get("train_set", {})
            index[fp] = {
                "k": cfg.k,
                "seed": cfg.seed,
                "method": "kd+cod" if cfg.cod else cfg.recipe,
                "test": rec["metrics"],
                "validation": rec.get("validation"),
                "train_set": ts,
                "train_steps": ts.get("train_steps"),
                "timings": rec.get("timings"),
                "counterfactual_pairs": None,
                "reused_from": f"{path}#{rec['id']}",
            }
    return index


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _paired(rows: list[dict]) -> list[tuple[dict, float, float]]:
    """(properties, accuracy gain, agreement gain) of every counterfactual run with a KD twin."""
    kd = {(r["seed"], r["k"]): r for r in rows if r["arm"] == "kd"}
    out = []
    for r in rows:
        twin = kd.get((r["seed"], r["k"]))
        if r.get("cf_properties") and twin is not None:
            out.append(
                (
                    r,
                    100 * (r["test"]["accuracy"] - twin["test"]["accuracy"]),
                    100 * (r["test"]["agreement"] - twin["test"]["agreement"]),
                )
            )
    return out


def property_table(rows: list[dict], ks: list[int], arms: list[str]) -> str:
    """Mean counterfactual properties and paired gain per (k, arm), over seeds."""
    points = _paired(rows)
    lines = [f"{'k':>3} {'arm':9} {'n':>2} " + " ".join(f"{p:>11}" for p in PROPERTIES) + f" {'acc gain':>9}"]
    for k in ks:
        for arm in arms:
            sel = [(r, g) for r, g, _ in points if r["k"] == k and r["arm"] == arm]
            if sel:
                means = [np.mean([r["cf_properties"][p] for r, _ in sel]) for p in PROPERTIES]
                lines.append(
                    f"{k:>3} {arm:9} {len(sel):>2} "
                    + " ".join(f"{m:11.3f}" for m in means)
                    + f" {np.mean([g for _, g in sel]):+9.2f}"
                )
    return "\n".join(lines)


def correlation_table(rows: list[dict]) -> str:
    """Which property predicts the gain over KD: correlations over per-(seed, k, arm) points."""
    from scipy import stats

    points = _paired(rows)
    if len(points) < 3:
        return "(fewer than 3 counterfactual runs with a KD twin: no correlations)"
    groups: dict[tuple[int, int], list[int]] = {}
    for idx, (r, _, _) in enumerate(points):
        groups.setdefault((r["seed"], r["k"]), []).append(idx)

    def centred(values: np.ndarray) -> np.ndarray:
        out = values.copy()
        for idx in groups.values():
            out[idx] -= values[idx].mean()
        return out

    acc = np.array([g for _, g, _ in points])
    agr = np.array([g for _, _, g in points])
    lines = [
        f"{len(points)} runs (seed, k, arm) with counterfactuals, paired with KD; {len(groups)} budgets (seed, k)",
        f"{'property':21} {'spearman acc':>16} {'pearson acc':>16} {'within-budget':>14} {'spearman agreement':>19}",
    ]

    def fmt(res) -> str:
        return "           n/a" if not np.isfinite(res[0]) else f"{res[0]:+6.2f} (p={res[1]:.3f})"

    for name in PROPERTIES:
        x = np.array([r["cf_properties"][name] for r, _, _ in points])
        if np.ptp(x) == 0:
            lines.append(f"{name:21} (constant: {x[0]:.3f})")
            continue
        xc, ac = centred(x), centred(acc)
        within = (
            stats.spearmanr(xc, ac)[0] if np.ptp(xc) > 0 and np.ptp(ac) > 0 else float("nan")
        )  # nan: one arm per budget
        lines.append(
            f"{name:21} {fmt(stats.spearmanr(x, acc)):>16} {fmt(stats.pearsonr(x, acc)) if np.ptp(acc) > 0 else 'n/a':>16} "
            f"{within:+14.2f} {fmt(stats.spearmanr(x, agr)) if np.ptp(agr) > 0 else 'n/a':>19}"
        )
    return "\n".join(lines)


def summary_extra(rows: list[dict], ks: list[int], arms: list[str]) -> str:
    return (
        "\ncounterfactual properties (means over seeds; acc gain = paired accuracy - KD, points)\n"
        + property_table(rows, ks, arms)
        + "\n\nwhich properties predict the gain over KD (accuracy and agreement, points; rho, r)\n"
        + correlation_table(rows)
    )
