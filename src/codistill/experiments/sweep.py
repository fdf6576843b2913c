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

from codistill.errors import ConfigError
from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.design import record_design, save_config
from codistill.experiments.peer_runs import attach_peer, distill_recipe, peer_keys, run_peer_job
from codistill.experiments.prepare import (
    counterfactual_config,
    data_config,
    prepare_counterfactuals,
    prepare_teacher,
    sweep_budget,
)
from codistill.experiments.records import ResultStore, RunKey, RunRecord, input_differences, run_inputs
from codistill.utils.hashing import fingerprint

RESULTS_FILE = "results.jsonl"
#: metrics copied from a run's test scores into its record (when present)
RECORD_METRICS = ("accuracy", "macro_f1", "mcc", "agreement", "kl_teacher_student", "ece")


@dataclass
class Job:
    key: RunKey
    config: dict[str, Any]  # a DistillConfig, as a dict so it crosses process boundaries
    counterfactuals: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    peer: dict[str, Any] | None = None  # a peer arm's settings (SetFit); None: a distillation run

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs)


@dataclass
class SweepResult:
    results_path: Path
    records: list[RunRecord]
    ran: int
    skipped: int
    seconds: float
    teachers: dict[str, str]
    counterfactual_files: dict[tuple[str, int], str]


def file_sha256(path: str | None) -> str | None:
    if not path:
        return None
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def student_fingerprint(student: dict[str, Any]) -> str | None:
    """Content fingerprint of the weights a run's student starts from (a derived student of the
    teacher's own layers is covered by the teacher fingerprint; ``auto`` may pick the default
    pretrained model, so its weights count)."""
    from codistill.distill.config import AUTO_SOURCE, PRETRAINED_DEFAULT, TEACHER_SOURCE
    from codistill.models.loading import model_fingerprint

    source = student.get("path") or (student.get("derive") or {}).get("source")
    if source in (None, TEACHER_SOURCE):
        return None
    try:
        return model_fingerprint(PRETRAINED_DEFAULT if source == AUTO_SOURCE else source)
    except Exception as exc:  # noqa: BLE001 - an unresolvable name fails later, where it is loaded
        return f"unresolved:{source}:{type(exc).__name__}"


def _distill_config(
    config: SweepConfig, task: SweepTask, key: RunKey, teacher: str, cf_file: str | None, out_dir: Path
):
    from codistill.distill.budget_modes import from_run_key
    from codistill.distill.config import DistillConfig

    dc = DistillConfig(
        data=data_config(task),
        teacher=teacher,
        recipe=distill_recipe(key),
        k=key.k,
        seed=key.seed,
        cod=key.cod,
        counterfactuals=cf_file,
        cod_mode=from_run_key(key.mode)[0].name,
        cod_m=config.cod_m,
        teacher_max_length=task.teacher_max_length,
        save_model=False,
    )
    if task.contrast:
        dc.eval.contrast = task.contrast
    if config.distill_overrides:
        dc = dc.with_overrides(config.distill_overrides)
    if dc.train.max_steps is None:  # one step budget for every arm of a k: the baseline's k originals x epochs
        dc = dc.with_overrides({"train.max_steps": dc.train.total_steps(key.k)})
    if dc.train.trackers():  # trackers name each run by its key
        dc = dc.with_overrides(
            {
                "train.run_name": dc.train.run_name or key.as_id(),
                "train.logging_dir": dc.train.logging_dir or str(out_dir / "logs" / key.as_id()),
            }
        )
    return dc


def _check_record(store: ResultStore, job: Job, old: RunRecord, ignore: tuple[str, ...] = ()) -> bool:
    """True when ``old`` was made with ``job``'s inputs (``ignore``: top-level inputs not compared
    yet); a record of the same key made with other inputs is a one-line error."""
    if not ignore and old.fingerprint == job.fingerprint:
        return True
    changed = (
        [c for c in input_differences(old.inputs, job.inputs) if c.split(".")[0] not in ignore]
        if old.inputs
        else ["(the record has no input fingerprint)"]
    )
    if not changed:
        return True
    raise ConfigError(
        f"{store.path} holds {job.key.as_id()} made with other inputs ({', '.join(changed[:4])}"
        f"{', ...' if len(changed) > 4 else ''} differ); use a new output_dir so results are not mixed"
    )


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


def plan(
    config: SweepConfig, store: ResultStore, echo: Callable[[str], None]
) -> tuple[list[Job], int, dict[str, str], dict]:
    """Every run of the grid not yet in ``store`` with the same inputs, teachers and counterfactuals ready.

    A run is reused only when its record's fingerprint (resolved config, data content, teacher and
    student weights, counterfactual generation config and file content, contrast file, codistill
    version) matches; a record of the same run made with other inputs stops the sweep with a
    one-line error naming the difference, so results are never mixed. Every input but the
    counterfactual file's content is checked before any counterfactual file is (re)written."""
    import codistill
    from codistill.distill.budget_modes import from_run_key
    from codistill.distill.config import DistillConfig
    from codistill.models.loading import scorer_fingerprint
    from codistill.teacher.meta import check_shared_carve
    from codistill.utils.hashing import fingerprint as hash_of

    out_dir = Path(config.output_dir)
    existing = store.by_key()
    jobs: list[Job] = []
    skipped = 0
    teachers: dict[str, str] = {}
    cf_files: dict[tuple[str, int], str] = {}
    budget = sweep_budget(config)
    for task in config.tasks:
        keys = grid_keys(config, task)
        if any(key.cod and from_run_key(key.mode)[0].half for key in keys):
            from codistill.data.sampling import check_cod_budget

            num_labels = _session().data(data_config(task)).num_labels
            for k in sorted({key.k for key in keys if key.cod and from_run_key(key.mode)[0].half}):
                check_cod_budget(k, num_labels)  # before any teacher or counterfactual work
        # inputs are fingerprinted for every run, done or not: the teacher and counterfactual
        # files come from their caches, so a finished sweep redoes no work to check them
        students_data = _distill_config(config, task, keys[0], "", None, out_dir).data
        teacher = teachers[task.task] = prepare_teacher(task, echo, students_data)
        teacher_fp = scorer_fingerprint(teacher)
        cf_configs = {
            (seed, mode): counterfactual_config(config, task, teacher, seed, out_dir, mode)
            for seed, mode in sorted({(key.seed, key.mode) for key in keys if key.cod})
        }
        task_jobs, old_jobs = [], []
        for key in keys:
            cf = cf_configs.get((key.seed, key.mode)) if key.cod else None
            dc = _distill_config(
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
            old = existing.get(key)
            if old is not None:  # check first: nothing is regenerated for a sweep that will be refused
                _check_record(store, job, old, ignore=("counterfactuals_sha256",))
                old_jobs.append(job)
            else:
                task_jobs.append(job)
        check_shared_carve(teacher, DistillConfig.from_dict(job.config).data)  # before any counterfactual is made
        cf_stats: dict[tuple[int, str], dict[str, Any]] = {}
        cf_hashes: dict[tuple[int, str], str | None] = {}
        for seed, mode in cf_configs:
            # paper files keep their (task, seed) key; the other modes' files are keyed by (task/mode, seed)
            name = task.task if from_run_key(mode)[0].half else f"{task.task}/{mode}"
            cf_files[(name, seed)], cf_stats[(seed, mode)] = prepare_counterfactuals(
                config, task, teacher, seed, out_dir, echo, mode, budget
            )
            cf_hashes[(seed, mode)] = file_sha256(cf_files[(name, seed)])
        for job in old_jobs + task_jobs:
            if job.key.cod:
                job.counterfactuals = cf_stats[(job.key.seed, job.key.mode)]
                job.inputs["counterfactuals_sha256"] = cf_hashes[(job.key.seed, job.key.mode)]
        for job in old_jobs:
            _check_record(store, job, existing[job.key])
            skipped += 1
        if task_jobs:
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
    run_in_pool(run_job, jobs, config.workers, record, initializer=_worker_init, initargs=(threads, os.getpid()))
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
