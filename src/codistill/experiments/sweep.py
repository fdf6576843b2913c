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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.design import record_design, save_config
from codistill.experiments.peer_runs import attach_peer, peer_keys, run_peer_job
from codistill.experiments.prepare import (
    counterfactual_config,
    data_config,
    prepare_counterfactuals,
    prepare_teacher,
    sweep_budget,
)
from codistill.experiments.records import ResultStore, RunKey, RunRecord, run_inputs
from codistill.experiments.run_config import Job, check_record, file_sha256, run_distill_config, student_fingerprint

RESULTS_FILE = "results.jsonl"
#: metrics copied from a run's test scores into its record (when present)
RECORD_METRICS = ("accuracy", "macro_f1", "mcc", "agreement", "kl_teacher_student", "ece")


@dataclass
class SweepResult:
    results_path: Path
    records: list[RunRecord]
    ran: int
    skipped: int
    seconds: float
    teachers: dict[str, str]
    counterfactual_files: dict[tuple[str, int], str]


def grid_keys(config: SweepConfig, task: SweepTask) -> list[RunKey]:
    """Every run of the grid for ``task``: seeds x k x recipes x {baseline, CoD modes}, then the peers."""
    from codistill.distill.budget_modes import PAPER

    modes = config.mode_names()
    return [
        RunKey(task.task, recipe, cod, k, seed, mode)
        for seed in config.seeds
        for k in config.ks
        for recipe in config.recipes
        for cod in config.cod
        for mode in (modes if cod else [PAPER.name])
    ] + peer_keys(config, task.task)


class SweepPlan(NamedTuple):
    """What a sweep will run: the jobs with no matching record, how many had one, each task's
    teacher, and the counterfactual files by (task, or task/mode, seed)."""

    jobs: list[Job]
    skipped: int
    teachers: dict[str, str]
    counterfactual_files: dict[tuple[str, int], str]


def plan(config: SweepConfig, store: ResultStore, echo: Callable[[str], None]) -> SweepPlan:
    """Every run of the grid not yet in ``store`` with the same inputs, teachers and counterfactuals ready.

    A run is reused only when its record's fingerprint (resolved config, data content, teacher and
    student weights, counterfactual generation config and file content, contrast file, codistill
    version) matches; a record of the same run made with other inputs stops the sweep with a
    one-line error naming the difference, so results are never mixed. Every input but the
    counterfactual file's content is checked before any counterfactual file is (re)written."""
    from codistill.distill.config import DistillConfig
    from codistill.models.loading import scorer_fingerprint
    from codistill.teacher.meta import check_shared_carve

    if config.peers:  # before any teacher or counterfactual work, not in the first peer's worker
        from codistill.training.setfit_train import require_setfit

        require_setfit()
    out_dir = Path(config.output_dir)
    existing = store.by_key()
    jobs: list[Job] = []
    skipped = 0
    teachers: dict[str, str] = {}
    cf_files: dict[tuple[str, int], str] = {}
    budget = sweep_budget(config)
    for task in config.tasks:
        keys = grid_keys(config, task)
        _check_cod_budgets(task, keys)
        # inputs are fingerprinted for every run, done or not: the teacher and counterfactual
        # files come from their caches, so a finished sweep redoes no work to check them
        students_data = run_distill_config(config, task, keys[0], "", None, out_dir).data
        teacher = teachers[task.task] = prepare_teacher(task, echo, students_data)
        teacher_fp = scorer_fingerprint(teacher)
        cf_configs = {
            (seed, mode): counterfactual_config(config, task, teacher, seed, out_dir, mode)
            for seed, mode in sorted({(key.seed, key.mode) for key in keys if key.cod})
        }
        grid = _grid_jobs(config, task, keys, teacher, teacher_fp, cf_configs, store, existing)
        check_shared_carve(teacher, DistillConfig.from_dict(grid[-1].config).data)  # before any counterfactual is made
        cf_files.update(_attach_counterfactuals(config, task, teacher, cf_configs, grid, echo, budget))
        done = [job for job in grid if job.key in existing]
        for job in done:
            check_record(store, job, existing[job.key])
        skipped += len(done)
        todo = [job for job in grid if job.key not in existing]
        if todo:
            warm_teacher_signals(DistillConfig.from_dict(todo[0].config), echo)
        jobs.extend(todo)
    return SweepPlan(jobs, skipped, teachers, cf_files)


def _check_cod_budgets(task: SweepTask, keys: list[RunKey]) -> None:
    """Each k of a half-budget CoD mode must leave k/2 originals that hold every class (checked
    before any teacher or counterfactual work)."""
    from codistill.distill.budget_modes import from_run_key

    half_ks = sorted({key.k for key in keys if key.cod and from_run_key(key.mode)[0].half})
    if not half_ks:
        return
    from codistill.data.sampling import check_cod_budget

    num_labels = _session().data(data_config(task)).num_labels
    for k in half_ks:
        check_cod_budget(k, num_labels)


def _grid_jobs(
    config: SweepConfig,
    task: SweepTask,
    keys: list[RunKey],
    teacher: str,
    teacher_fp: str,
    cf_configs: dict[tuple[int, str], Any],
    store: ResultStore,
    existing: dict[RunKey, RunRecord],
) -> list[Job]:
    """A task's jobs in grid order with their fingerprinted inputs; a stored record of a job made
    with other inputs (the counterfactual file's content aside) is refused here, before anything
    is regenerated."""
    import codistill
    from codistill.utils.hashing import fingerprint as hash_of

    out_dir = Path(config.output_dir)
    jobs = []
    for key in keys:
        cf = cf_configs.get((key.seed, key.mode)) if key.cod else None
        dc = run_distill_config(
            config, task, key, teacher, str(Path(cf.output_dir) / "counterfactuals.jsonl") if cf else None, out_dir
        )
        job = Job(key, dc.to_dict())
        job.inputs = run_inputs(
            job.config,
            teacher_fp,
            None,
            data_fingerprint=_session().data(dc.data).fingerprint,
            student_fingerprint=student_fingerprint(job.config["student"]),
            contrast_sha256=file_sha256(dc.eval.contrast),
            codistill_version=codistill.__version__,
            counterfactual_config=hash_of(
                {k: v for k, v in cf.to_dict().items() if k not in ("output_dir", "progress")}
            )
            if cf
            else None,
        )
        attach_peer(job, config)
        if key in existing:
            check_record(store, job, existing[key], ignore=("counterfactuals_sha256",))
        jobs.append(job)
    return jobs


def _attach_counterfactuals(
    config: SweepConfig,
    task: SweepTask,
    teacher: str,
    cf_configs: dict[tuple[int, str], Any],
    jobs: list[Job],
    echo: Callable[[str], None],
    budget: Any,
) -> dict[tuple[str, int], str]:
    """Make (or reuse) each (seed, mode) counterfactual file and give every CoD job its file's
    statistics and content hash; the files by (task, or task/mode for modes other than the
    paper's, seed)."""
    from codistill.distill.budget_modes import from_run_key

    files: dict[tuple[str, int], str] = {}
    stats: dict[tuple[int, str], dict[str, Any]] = {}
    hashes: dict[tuple[int, str], str | None] = {}
    for seed, mode in cf_configs:
        name = task.task if from_run_key(mode)[0].half else f"{task.task}/{mode}"
        files[(name, seed)], stats[(seed, mode)] = prepare_counterfactuals(
            config, task, teacher, seed, Path(config.output_dir), echo, mode, budget
        )
        hashes[(seed, mode)] = file_sha256(files[(name, seed)])
    for job in jobs:
        if job.key.cod:
            job.counterfactuals = stats[(job.key.seed, job.key.mode)]
            job.inputs["counterfactuals_sha256"] = hashes[(job.key.seed, job.key.mode)]
    return files


def warm_teacher_signals(config, echo: Callable[[str], None]) -> None:
    """Teacher logits for the validation and test texts, computed once here and stored in the
    on-disk signal cache, so parallel workers read them instead of each recomputing them."""
    if not config.signals_cache:
        return
    session = _session()  # the same session an in-process sweep then trains with
    data = session.data(config.data)
    signals = session.teacher(config.teacher, config.teacher_max_length, True, data.num_labels)
    texts = [e.text for e in data.validation + data.test]
    echo(f"[{data.task.name}] teacher signals for {len(texts)} evaluation texts (cached on disk)")
    signals.logits(texts)


# -- executing one run (in this process, a worker process or a Ray task) ----------------------
_SESSION = None


def _worker_init(threads: int | None, parent_pid: int | None = None) -> None:
    if parent_pid is not None:  # a pool worker: exit with the parent, leave Ctrl-C to it
        from codistill.utils.processes import die_with_parent

        die_with_parent(parent_pid)
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

    if job.peer is not None:
        return run_peer_job(job, _session(), RECORD_METRICS)
    result = distill(DistillConfig.from_dict(job.config), session=_session())

    def numbers(split: str) -> dict[str, float]:
        scores = result.metrics.get(split) or {}
        return {name: float(scores[name]) for name in RECORD_METRICS if isinstance(scores.get(name), (int, float))}

    metrics, validation = numbers("test"), numbers("validation")
    pairs = result.metrics.get("counterfactual_pairs") or {}
    if isinstance(pairs.get("flip_consistency"), (int, float)):
        metrics["flip_consistency"] = float(pairs["flip_consistency"])
    metrics.update(flat_record_metrics(result.metrics.get("contrast")))
    timings = {k: round(float(v), 3) for k, v in result.timings.items()}
    train_set = {**result.metrics.get("train_set", {}), "train_steps": int(result.metrics["train_steps"])}
    train_set.pop("ids", None)  # the originals' ids are in metrics.json; the record keeps counts
    return RunRecord(
        job.key,
        metrics,
        timings,
        job.counterfactuals,
        {"distill": job.config},
        train_set,
        job.fingerprint,
        job.inputs,
        validation,
        classes=class_record(result.metrics.get("test") or {}, result.config),
    ).to_dict()


def class_record(scores: dict[str, Any], config) -> dict[str, Any]:
    """The per-class part of a run's test scores, with the task's label names."""
    if not scores.get("confusion_matrix"):
        return {}
    from codistill.data.loading import resolve_task

    return {
        "label_names": list(resolve_task(config.data).label_names),
        "per_class_recall": scores.get("per_class_recall"),
        "confusion_matrix": scores["confusion_matrix"],
    }


def longest_first(jobs: list[Job]) -> list[Job]:
    """The order a pool takes jobs in: the long ones first, so the last job on a pool is a short one
    and no worker idles while another finishes a long fit. A peer fit's contrastive stage grows
    with its training texts (k, twice that with counterfactuals) and outlasts a student's fixed
    steps; students keep their grid order. Results do not depend on the order (each run seeds itself)."""

    def cost(job: Job) -> int:
        return job.key.k * (2 if job.key.cod else 1) if job.peer is not None else 0

    return sorted(jobs, key=cost, reverse=True)  # stable: equal costs keep the grid order


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

        def job_in_worker(job: Any) -> dict[str, Any]:
            _worker_init(threads)
            return run_job(job)

        remote = ray.remote(num_cpus=threads)(job_in_worker)
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
    from codistill.utils.processes import run_in_pool

    # Ctrl-C / SIGTERM: queued runs cancelled, workers terminated, finished records already stored
    run_in_pool(
        run_job, longest_first(jobs), config.workers, record, initializer=_worker_init, initargs=(threads, os.getpid())
    )
    return done


def _remove_if_only_marker(directory: Path) -> None:
    from codistill.utils.io import OWNER_MARKER

    if [p.name for p in directory.iterdir()] == [OWNER_MARKER]:
        (directory / OWNER_MARKER).unlink()
        directory.rmdir()


def run_sweep(config: SweepConfig, *, echo: Callable[[str], None] = print) -> SweepResult:
    from tqdm.auto import tqdm

    from codistill.utils.io import check_output_dir, claim_output_dir

    started = time.perf_counter()
    out_dir = check_output_dir(config.output_dir, "sweep output directory")
    fresh = not out_dir.exists()
    claim_output_dir(out_dir, "sweep", "sweep output directory")
    store = ResultStore(out_dir / RESULTS_FILE)
    try:
        jobs, skipped, teachers, cf_files = plan(config, store, echo)  # raises before touching sweep.yaml
    except Exception:
        if fresh:  # nothing of this sweep is worth keeping: leave no half-made folder behind
            _remove_if_only_marker(out_dir)
        raise
    save_config(config, out_dir, echo)  # only once the sweep validated and is about to run
    record_design(out_dir, [key for task in config.tasks for key in grid_keys(config, task)], echo)
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
