"""Run a sweep: prepare teachers and counterfactuals once, then every (task, k, recipe, cod,
seed) run not already in the results file, in-process, in worker processes or on Ray.

Teachers come from the teacher cache; counterfactuals are generated once per (task, seed) for the
largest k, whose CoD originals contain those of every smaller k (nested budgets), through the
generator's content-addressed cache. Each finished run is appended to ``results.jsonl`` by this
process alone, so a killed sweep resumes where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codistill.data.config import DataConfig
from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.records import ResultStore, RunKey, RunRecord

RESULTS_FILE = "results.jsonl"
#: metrics copied from a run's test scores into its record (when present)
RECORD_METRICS = ("accuracy", "macro_f1", "mcc", "agreement", "kl", "ece")


@dataclass
class Job:
    key: RunKey
    config: dict[str, Any]  # a DistillConfig, as a dict so it crosses process boundaries
    counterfactuals: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepResult:
    results_path: Path
    records: list[RunRecord]
    ran: int
    skipped: int
    seconds: float
    teachers: dict[str, str]
    counterfactual_files: dict[tuple[str, int], str]


def data_config(task: SweepTask) -> DataConfig:
    return DataConfig(task=task.task, data_dir=task.data_dir, source=task.source)


def prepare_teacher(task: SweepTask, echo: Callable[[str], None]) -> str:
    if task.teacher:
        return task.teacher
    from codistill.teacher import TeacherConfig, train_teacher

    config = TeacherConfig(data=data_config(task))
    if task.teacher_overrides:
        config = config.with_overrides(task.teacher_overrides)
    echo(f"[{task.task}] teacher: fine-tuning {config.model} (cached after the first time)")
    result = train_teacher(config)
    test = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics["test"].items())
    echo(f"[{task.task}] teacher {'reused' if result.cached else 'trained'}: {result.path} (test {test})")
    return str(result.path)


def prepare_counterfactuals(
    config: SweepConfig, task: SweepTask, teacher: str, seed: int, out_dir: Path, echo: Callable[[str], None], mode: str = "paper"
) -> tuple[str, dict[str, Any]]:
    """Counterfactuals for the CoD originals of the largest k (covering every smaller k): its k/2
    originals for the paper mode, all k (one or cod_m each) for the full and multi modes."""
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    paper = mode == "paper"
    cf = CounterfactualConfig(
        data=data_config(task), k=max(config.ks) * (1 if paper else 2), seed=seed, teacher=teacher,
        output_dir=str(out_dir / "counterfactuals" / (f"{task.task}-s{seed}" if paper else f"{task.task}-{mode}-s{seed}")),
    )
    if config.counterfactual_overrides:
        cf = cf.with_overrides(config.counterfactual_overrides)
    if mode.startswith("multi"):
        cf.per_original = max(cf.per_original, config.cod_m)
    result = run_counterfactuals(cf, echo=lambda *_: None)
    report = result.report
    stats = {
        "generator": cf.generator,
        "originals": report.get("originals"),
        "valid": report.get("valid"),
        "validity": report.get("validity"),
        "edited_words": (report.get("edited_words") or {}).get("mean"),
        "cost_usd": report.get("cost_usd", 0.0),
    }
    echo(f"[{task.task}] seed {seed}: {stats['valid']}/{stats['originals']} verified counterfactuals ({cf.generator})")
    return str(result.output_dir / "counterfactuals.jsonl"), stats


def plan(config: SweepConfig, store: ResultStore, echo: Callable[[str], None]) -> tuple[list[Job], int, dict[str, str], dict]:
    """Every run of the grid not yet in ``store``, with teachers and counterfactuals ready."""
    from codistill.distill.config import DistillConfig

    out_dir = Path(config.output_dir)
    done = store.done()
    jobs: list[Job] = []
    skipped = 0
    teachers: dict[str, str] = {}
    cf_files: dict[tuple[str, int], str] = {}
    for task in config.tasks:
        modes = config.mode_names()
        keys = [
            RunKey(task.task, recipe, cod, k, seed, mode)
            for seed in config.seeds for k in config.ks for recipe in config.recipes for cod in config.cod
            for mode in (modes if cod else ["paper"])
        ]
        todo = [key for key in keys if key not in done]
        skipped += len(keys) - len(todo)
        if not todo:
            continue
        teacher = teachers[task.task] = prepare_teacher(task, echo)
        cf_stats: dict[tuple[int, str], dict[str, Any]] = {}
        for seed, mode in sorted({(key.seed, key.mode) for key in todo if key.cod}):
            # paper files keep their (task, seed) key; the other modes' files are keyed by (task/mode, seed)
            name = task.task if mode == "paper" else f"{task.task}/{mode}"
            cf_files[(name, seed)], cf_stats[(seed, mode)] = prepare_counterfactuals(config, task, teacher, seed, out_dir, echo, mode)
        task_jobs = []
        for key in todo:
            cod_mode = "multi" if key.mode.startswith("multi") else key.mode
            dc = DistillConfig(
                data=data_config(task), teacher=teacher, recipe=key.recipe, k=key.k, seed=key.seed, cod=key.cod,
                counterfactuals=cf_files.get((task.task if key.mode == "paper" else f"{task.task}/{key.mode}", key.seed)) if key.cod else None,
                cod_mode=cod_mode, cod_m=config.cod_m, save_model=False,
            )
            if task.contrast:
                dc.eval.contrast = task.contrast
            if config.distill_overrides:
                dc = dc.with_overrides(config.distill_overrides)
            task_jobs.append(Job(key, dc.to_dict(), cf_stats.get((key.seed, key.mode), {}) if key.cod else {}))
        warm_teacher_signals(DistillConfig.from_dict(task_jobs[0].config), echo)
        jobs.extend(task_jobs)
    return jobs, skipped, teachers, cf_files


def warm_teacher_signals(config, echo: Callable[[str], None]) -> None:
    """Teacher logits for the validation and test texts, computed once here and stored in the
    on-disk signal cache, so parallel workers read them instead of each recomputing them."""
    if not config.signals_cache:
        return
    session = _session()  # the same session an in-process sweep then trains with
    data = session.data(config.data)
    signals = session.teacher(config.teacher, config.train.max_length, True, data.num_labels)
    texts = [e.text for e in data.validation + data.test]
    echo(f"[{data.task.name}] teacher signals for {len(texts)} evaluation texts (cached on disk)")
    signals.logits(texts)


# -- executing one run (in this process, a worker process or a Ray task) ----------------------
_SESSION = None


def _worker_init(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _session():
    """This process's session: data, teacher signals and student weights load once per process."""
    global _SESSION
    if _SESSION is None:
        from codistill.distill.session import DistillSession

        _SESSION = DistillSession()
    return _SESSION


def run_job(job: Job) -> dict[str, Any]:
    """Train and score one run; returns the record as a dict (picklable for any backend)."""
    from codistill.distill import distill
    from codistill.distill.config import DistillConfig
    from codistill.evaluation.contrast import flat_record_metrics

    result = distill(DistillConfig.from_dict(job.config), session=_session())
    test = result.metrics.get("test", {})
    metrics = {name: float(test[name]) for name in RECORD_METRICS if isinstance(test.get(name), (int, float))}
    pairs = result.metrics.get("counterfactual_pairs") or {}
    if isinstance(pairs.get("flip_consistency"), (int, float)):
        metrics["flip_consistency"] = float(pairs["flip_consistency"])
    metrics.update(flat_record_metrics(result.metrics.get("contrast")))
    timings = {k: round(float(v), 3) for k, v in result.timings.items()}
    return RunRecord(job.key, metrics, timings, job.counterfactuals, {"distill": job.config}).to_dict()


def _execute(config: SweepConfig, jobs: list[Job], store: ResultStore, progress) -> int:
    threads = config.threads_per_worker or max(1, (os.cpu_count() or 1) // config.workers)
    done = 0

    def record(row: dict[str, Any]) -> None:
        nonlocal done
        store.append(RunRecord.from_dict(row))
        done += 1
        progress(row)

    if config.backend == "ray":
        import ray

        ray.init(address=config.ray_address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(num_cpus=threads)(lambda job: (_worker_init(threads), run_job(job))[1])
        pending = [remote.remote(job) for job in jobs]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            record(ray.get(ready[0]))
        return done
    if config.workers == 1:
        _worker_init(config.threads_per_worker)
        for job in jobs:
            record(run_job(job))
        return done
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker (fork after torch has started threads can deadlock)
    with ProcessPoolExecutor(config.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init, initargs=(threads,)) as pool:
        futures = [pool.submit(run_job, job) for job in jobs]
        for future in as_completed(futures):
            record(future.result())
    return done


def run_sweep(config: SweepConfig, *, echo: Callable[[str], None] = print) -> SweepResult:
    from tqdm.auto import tqdm

    started = time.perf_counter()
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config.save(out_dir / "sweep.yaml")
    store = ResultStore(out_dir / RESULTS_FILE)
    jobs, skipped, teachers, cf_files = plan(config, store, echo)
    if skipped:
        echo(f"resuming: {skipped} run(s) already in {store.path}")
    bar = tqdm(total=len(jobs), desc="runs", unit="run", disable=not jobs)

    def progress(row: dict[str, Any]) -> None:
        bar.update(1)
        acc = row["metrics"].get("accuracy")
        bar.set_postfix_str(f"{row['id']} acc={acc:.3f}" if acc is not None else row["id"])

    try:
        ran = _execute(config, jobs, store, progress)
    finally:
        bar.close()
    return SweepResult(store.path, store.load(), ran, skipped, time.perf_counter() - started, teachers, cf_files)
