"""What a sweep prepares once per task before its runs: the teacher (from the teacher cache), the
counterfactual files of each (seed, mode) through the generator's content-addressed cache, and the
one spending cap every counterfactual run of the sweep draws on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from codistill.data.config import DataConfig
from codistill.experiments.config import SweepConfig, SweepTask


def data_config(task: SweepTask) -> DataConfig:
    return DataConfig(task=task.task, data_dir=task.data_dir, source=task.source)


def prepare_teacher(task: SweepTask, echo: Callable[[str], None], data: DataConfig | None = None) -> str:
    """The task's teacher: its directory, or one fine-tuned on ``data`` (the students' data section,
    so both share one validation carve; default: the task's)."""
    if task.teacher:
        return task.teacher
    from codistill.teacher import TeacherConfig, train_teacher

    config = TeacherConfig(data=data or data_config(task))
    if task.teacher_overrides:
        config = config.with_overrides(task.teacher_overrides)
    echo(f"[{task.task}] teacher: fine-tuning {config.model} (cached after the first time)")
    result = train_teacher(config)
    test = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics["test"].items())
    echo(f"[{task.task}] teacher {'reused' if result.cached else 'trained'}: {result.path} (test {test})")
    for warning in result.metrics.get("warnings", []):
        echo(f"[{task.task}] warning: {warning}")
    return str(result.path)


def counterfactual_config(
    config: SweepConfig, task: SweepTask, teacher: str, seed: int, out_dir: Path, mode: str = "paper"
):
    """The generation config of one (task, seed, mode) file: for the CoD originals of the largest k
    (covering every smaller k), its k/2 originals for the paper mode, all k (one or cod_m each) for
    the full and multi modes."""
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.distill.budget_modes import from_run_key

    budget, _ = from_run_key(mode)
    cf = CounterfactualConfig(
        data=data_config(task),
        k=budget.counterfactual_k(max(config.ks)),
        seed=seed,
        teacher=teacher,
        teacher_max_length=task.teacher_max_length,
        output_dir=str(
            out_dir / "counterfactuals" / (f"{task.task}-s{seed}" if budget.half else f"{task.task}-{mode}-s{seed}")
        ),
    )
    if config.counterfactual_overrides:
        cf = cf.with_overrides(config.counterfactual_overrides)
    if budget.multi:
        cf.per_original = max(cf.per_original, config.cod_m)
    return cf


def prepare_counterfactuals(
    config: SweepConfig,
    task: SweepTask,
    teacher: str,
    seed: int,
    out_dir: Path,
    echo: Callable[[str], None],
    mode: str = "paper",
    budget: Any = None,
) -> tuple[str, dict[str, Any]]:
    """Generate (or read from the cache) the counterfactuals of :func:`counterfactual_config`.
    ``budget`` is the sweep's one spending cap (:func:`sweep_budget`), shared by every run."""
    from codistill.counterfactuals.pipeline import run_counterfactuals

    cf = counterfactual_config(config, task, teacher, seed, out_dir, mode)
    result = run_counterfactuals(cf, echo=lambda *_: None, budget=budget).check_endpoint()
    report = result.report
    stats = {
        "generator": cf.generator,
        "originals": report.get("originals"),
        "valid": report.get("valid"),
        "validity": report.get("validity"),
        "edited_words": (report.get("edited_words") or {}).get("mean"),
        "cost_usd": report.get("cost_usd", 0.0),
    }
    stopped = " (stopped by the sweep's --max-budget)" if result.run.get("stopped_by_budget") else ""
    echo(
        f"[{task.task}] seed {seed}: {stats['valid']}/{stats['originals']} verified counterfactuals ({cf.generator}){stopped}"
    )
    return str(result.output_dir / "counterfactuals.jsonl"), stats


def sweep_budget(config: SweepConfig) -> Any:
    """The one spending cap of a sweep (``max_budget_usd`` of its counterfactual overrides): every
    counterfactual run of every task, seed and mode draws on it, so the sweep spends it once."""
    from codistill.counterfactuals.budget import Budget
    from codistill.counterfactuals.config import CounterfactualConfig

    return Budget(CounterfactualConfig().with_overrides(config.counterfactual_overrides).max_budget_usd)
