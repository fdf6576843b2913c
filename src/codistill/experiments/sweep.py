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
from codistill.errors import ConfigError
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
    for warning in result.metrics.get("warnings", []):
        echo(f"[{task.task}] warning: {warning}")
    return str(result.path)


def prepare_counterfactuals(
    config: SweepConfig, task: SweepTask, teacher: str, seed: int, out_dir: Path, echo: Callable[[str], None], mode: str = "paper"
) -> tuple[str, dict[str, Any]]:
    """Counterfactuals for the CoD originals of the largest k (covering every smaller k): its k/2
    originals for the paper mode, all k (one or cod_m each) for the full and multi modes."""
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    from codistill.distill.budget_modes import from_run_key

    budget, _ = from_run_key(mode)
    cf = CounterfactualConfig(
        data=data_config(task), k=budget.counterfactual_k(max(config.ks)), seed=seed, teacher=teacher, teacher_max_length=task.teacher_max_length,
        output_dir=str(out_dir / "counterfactuals" / (f"{task.task}-s{seed}" if budget.half else f"{task.task}-{mode}-s{seed}")),
    )
    if config.counterfactual_overrides:
        cf = cf.with_overrides(config.counterfactual_overrides)
    if budget.multi:
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


def file_sha256(path: str | None) -> str | None:
    if not path:
        return None
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def plan(config: SweepConfig, store: ResultStore, echo: Callable[[str], None]) -> tuple[list[Job], int, dict[str, str], dict]:
    """Every run of the grid not yet in ``store`` with the same inputs, teachers and counterfactuals ready.

    A run is reused only when its record's fingerprint (resolved config, teacher fingerprint,
    counterfactual file content) matches; a record of the same run made with other inputs stops
    the sweep with a one-line error naming the difference, so results are never mixed."""
    from codistill.distill.budget_modes import PAPER, from_run_key
    from codistill.distill.config import DistillConfig
    from codistill.models.loading import scorer_fingerprint

    out_dir = Path(config.output_dir)
    existing = store.by_key()
    jobs: list[Job] = []
    skipped = 0
    teachers: dict[str, str] = {}
    cf_files: dict[tuple[str, int], str] = {}
    for task in config.tasks:
        modes = config.mode_names()
        keys = [
            RunKey(task.task, recipe, cod, k, seed, mode)
            for seed in config.seeds for k in config.ks for recipe in config.recipes for cod in config.cod
            for mode in (modes if cod else [PAPER.name])
        ]
        if any(key.cod and from_run_key(key.mode)[0].half for key in keys):
            from codistill.data.sampling import check_cod_budget

            num_labels = _session().data(data_config(task)).num_labels
            for k in sorted({key.k for key in keys if key.cod and from_run_key(key.mode)[0].half}):
                check_cod_budget(k, num_labels)  # before any teacher or counterfactual work
        # inputs are fingerprinted for every run, done or not: the teacher and counterfactual
        # files come from their caches, so a finished sweep redoes no work to check them
        teacher = teachers[task.task] = prepare_teacher(task, echo)
        teacher_fp = scorer_fingerprint(teacher)
        cf_stats: dict[tuple[int, str], dict[str, Any]] = {}
        cf_hashes: dict[tuple[int, str], str | None] = {}
        for seed, mode in sorted({(key.seed, key.mode) for key in keys if key.cod}):
            # paper files keep their (task, seed) key; the other modes' files are keyed by (task/mode, seed)
            name = task.task if from_run_key(mode)[0].half else f"{task.task}/{mode}"
            cf_files[(name, seed)], cf_stats[(seed, mode)] = prepare_counterfactuals(config, task, teacher, seed, out_dir, echo, mode)
            cf_hashes[(seed, mode)] = file_sha256(cf_files[(name, seed)])
        task_jobs = []
        for key in keys:
            budget = from_run_key(key.mode)[0]
            dc = DistillConfig(
                data=data_config(task), teacher=teacher, recipe=key.recipe, k=key.k, seed=key.seed, cod=key.cod,
                counterfactuals=cf_files.get((task.task if budget.half else f"{task.task}/{key.mode}", key.seed)) if key.cod else None,
                cod_mode=budget.name, cod_m=config.cod_m, teacher_max_length=task.teacher_max_length, save_model=False,
            )
            if task.contrast:
                dc.eval.contrast = task.contrast
            if config.distill_overrides:
                dc = dc.with_overrides(config.distill_overrides)
            if dc.train.trackers():  # trackers name each run by its key
                dc = dc.with_overrides({
                    "train.run_name": dc.train.run_name or key.as_id(),
                    "train.logging_dir": dc.train.logging_dir or str(out_dir / "logs" / key.as_id()),
                })
            job = Job(key, dc.to_dict(), cf_stats.get((key.seed, key.mode), {}) if key.cod else {})
            job.inputs = run_inputs(job.config, teacher_fp, cf_hashes.get((key.seed, key.mode)) if key.cod else None)
            old = existing.get(key)
            if old is not None:
                if old.fingerprint == job.fingerprint:
                    skipped += 1
                    continue
                changed = input_differences(old.inputs, job.inputs) if old.inputs else ["(the record has no input fingerprint)"]
                raise ConfigError(
                    f"{store.path} holds {key.as_id()} made with other inputs ({', '.join(changed[:4])}"
                    f"{', ...' if len(changed) > 4 else ''} differ); use a new output_dir so results are not mixed"
                )
            task_jobs.append(job)
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
        job.key, metrics, timings, job.counterfactuals, {"distill": job.config}, train_set, job.fingerprint, job.inputs, validation
    ).to_dict()


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
    from codistill.utils.processes import run_in_pool

    # Ctrl-C / SIGTERM: queued runs cancelled, workers terminated, finished records already stored
    run_in_pool(run_job, jobs, config.workers, record, initializer=_worker_init, initargs=(threads, os.getpid()))
    return done


def _remove_if_only_marker(directory: Path) -> None:
    from codistill.utils.io import OWNER_MARKER

    if [p.name for p in directory.iterdir()] == [OWNER_MARKER]:
        (directory / OWNER_MARKER).unlink()
        directory.rmdir()


def save_config(config: SweepConfig, out_dir: Path, echo: Callable[[str], None]) -> Path:
    """Write ``sweep.yaml``; a different earlier config (say a grid extended by more seeds) is
    kept as ``sweep.<n>.yaml`` rather than overwritten."""
    path = out_dir / "sweep.yaml"
    if path.is_file() and SweepConfig.from_yaml(path).to_dict() != config.to_dict():
        n = 1
        while (out_dir / f"sweep.{n}.yaml").exists():
            n += 1
        path.rename(out_dir / f"sweep.{n}.yaml")
        echo(f"the sweep config changed: the previous one is kept as {out_dir / f'sweep.{n}.yaml'}")
    config.save(path)
    return path


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
