"""A grid of explanation students: modes x k x seeds on one explanations directory.

Each finished run is appended to a resumable results file as a :class:`RunRecord` (recipe
``explain-<mode>``), so ``codistill report`` renders it with the method tables, two-way ANOVA,
mixed model and post-hoc comparisons. The task teacher and the student's base weights are
loaded once for the whole grid.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codistill.experiments.records import ResultStore, RunKey, RunRecord
from codistill.explanations.config import ExplainDistillConfig

#: student explanations kept in each grid record (the first test texts; all of them with a single run's --output-dir)
SAMPLES = 5


def explain_key(task: str, config: ExplainDistillConfig, k: int) -> RunKey:
    return RunKey(task=task, recipe=f"explain-{config.mode}", cod=False, k=k, seed=config.seed)


def run_explain_grid(
    base: ExplainDistillConfig,
    modes: Sequence[str],
    ks: Sequence[int],
    seeds: Sequence[int],
    results: str | Path,
    *,
    verifier: Any = None,
    echo: Callable[[str], None] = print,
) -> list[RunRecord]:
    """Run every (mode, k, seed) not already in ``results``; returns all records of the grid."""
    from codistill.explanations.run import distill_explanations, load_explanations

    source, _, _ = load_explanations(base.explanations)
    task = source.data.task
    store = ResultStore(results)
    done = store.done()
    grid = [(m, k, s) for k in ks for s in seeds for m in modes]
    todo = [
        (m, k, s) for m, k, s in grid if explain_key(task, base.with_overrides({"mode": m, "seed": s}), k) not in done
    ]
    echo(f"{len(grid)} runs in the grid, {len(grid) - len(todo)} already in {results}")
    if todo and verifier is None:
        from codistill.counterfactuals.verify import TeacherVerifier
        from codistill.data import load_task

        # the task's label count (any number of classes), as distill_explanations loads its teacher
        num_labels = load_task(source.data).num_labels
        verifier = TeacherVerifier(base.teacher or source.teacher, num_labels=num_labels)
    student = None
    for n, (mode, k, seed) in enumerate(todo, 1):
        if student is None:
            from codistill.explanations.seq2seq import load_student

            student = load_student(base.student)
        cfg = base.with_overrides({"mode": mode, "k": k, "seed": seed})
        t0 = time.perf_counter()
        result = distill_explanations(cfg, verifier=verifier, student_model=copy.deepcopy(student), echo=echo)
        key = explain_key(task, cfg, k)
        store.append(
            RunRecord(
                key=key,
                metrics=result["metrics"],
                timings={**result["timings"], "wall_seconds": round(time.perf_counter() - t0, 2)},
                config={
                    "mode": mode,
                    "alpha": result["alpha"],
                    "student": base.student,
                    "lora": result["lora"],
                    "train_steps": result["train_steps"],
                    "explanation_source": result["explanation_source"],
                },
                samples=result["written"][:SAMPLES],
            )
        )
        acc = result["metrics"]["accuracy"]
        echo(f"[{n}/{len(todo)}] {key.as_id()}: accuracy {acc:.3f}, {result['timings']['seconds_per_step']:.2f} s/step")
    keys = {explain_key(task, base.with_overrides({"mode": m, "seed": s}), k) for m, k, s in grid}
    return [r for r in store.load() if r.key in keys]
