"""What one run of a sweep is made of: a :class:`Job` (its run key, its DistillConfig built from
the sweep and the key, its inputs), the content fingerprints of files and of the student's
starting weights that go into those inputs, and the check that a stored record is reused only
for the same inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codistill.errors import ConfigError
from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.peer_runs import distill_recipe
from codistill.experiments.prepare import data_config
from codistill.experiments.records import ResultStore, RunKey, RunRecord, input_differences
from codistill.utils.hashing import fingerprint

if TYPE_CHECKING:
    from codistill.distill.config import DistillConfig


@dataclass
class Job:
    """One run of the grid, as it travels to a worker; its fingerprint is that of its inputs."""

    key: RunKey
    config: dict[str, Any]  # a DistillConfig, as a dict so it crosses process boundaries
    counterfactuals: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    peer: dict[str, Any] | None = None  # a peer arm's settings (SetFit); None: a distillation run

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs)


def file_sha256(path: str | None) -> str | None:
    """The SHA-256 of a file's content (None for no file)."""
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


def run_distill_config(
    config: SweepConfig, task: SweepTask, key: RunKey, teacher: str, cf_file: str | None, out_dir: Path
) -> DistillConfig:
    """The DistillConfig of one run of the grid: the task's data, the run key's recipe, k, seed and
    CoD mode, the sweep's overrides, one step budget for every arm of a k, trackers named by the key."""
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


def check_record(store: ResultStore, job: Job, old: RunRecord, ignore: tuple[str, ...] = ()) -> bool:
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
