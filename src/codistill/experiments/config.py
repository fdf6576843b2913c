"""Configuration of ``codistill sweep`` (and of ``codistill demo``, which is a fixed sweep)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from codistill.config import ConfigBase
from codistill.distill.budget_modes import DEFAULT_COD_MODE, check_cod_mode, describe_modes, get_cod_mode
from codistill.peers.methods import PeerMethod
from codistill.training.setfit_train import SetFitConfig


class SweepTask(ConfigBase):
    """One task of the grid and where its teacher comes from."""

    task: str = Field(description="registered task name")
    data_dir: str | None = Field(None, description="local train/test files for the task")
    source: str | None = None
    teacher: str | None = Field(
        None, description="teacher directory; None: fine-tune one with `codistill teacher` (cached)"
    )
    teacher_overrides: list[str] = Field(
        default_factory=list,
        description="TeacherConfig overrides, e.g. ['max_train_examples=5000']; overrides of the validation carve "
        "(data.validation_size, data.validation_max_fraction, data.split_seed) are an error: teacher and students share one carve, "
        "set it for both in distill_overrides",
    )
    teacher_max_length: int | None = Field(
        None,
        gt=0,
        description="tokens the teacher reads, for verification and distillation alike (None: what it was trained with)",
    )
    contrast: str | None = Field(None, description="gold contrast pairs (jsonl) every run of the task is scored on")

    @field_validator("teacher_overrides")
    @classmethod
    def _one_carve(cls, overrides: list[str]) -> list[str]:
        from codistill.teacher.meta import CARVE_FIELDS

        bad = [o for o in overrides if o.split("=", 1)[0].strip() in {f"data.{f}" for f in CARVE_FIELDS}]
        if bad:
            raise ValueError(
                f"teacher_overrides {bad} change the validation carve, which teacher and students share; "
                "set it in distill_overrides (the teacher follows)"
            )
        return overrides


class SweepConfig(ConfigBase):
    """tasks x k x recipes x {baseline, +CoD} x seeds; one record per run in ``output_dir/results.jsonl``."""

    tasks: list[SweepTask] = Field(default_factory=lambda: [SweepTask(task="rotten_tomatoes")])
    ks: list[int] = Field(default_factory=lambda: [8, 16, 32, 64])
    recipes: list[str] = Field(default_factory=lambda: ["kd", "lwd", "ted"])
    cod: list[bool] = Field(default_factory=lambda: [False, True], description="baseline (false) and/or +CoD (true)")
    cod_modes: list[str] = Field(
        default_factory=lambda: [
            DEFAULT_COD_MODE
        ],  # distill's default: the best mode of docs/results.md, "Budget modes"
        description="CoD budget modes, each a method: " + describe_modes(),
    )
    cod_m: int = Field(3, ge=2, le=8, description="counterfactuals per original in the multi mode")
    peers: list[PeerMethod] = Field(
        default_factory=list,
        description="teacher-free peer arms run beside the recipes on the same k-shot sets and seeds: "
        "setfit (SetFit on the KD arm's k texts, gold labels), setfit+cod (SetFit on the KD+CoD training set, teacher labels)",
    )
    setfit: SetFitConfig = Field(
        default_factory=SetFitConfig, description="SetFit settings of the peer arms (setfit's defaults)"
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    counterfactual_overrides: list[str] = Field(
        default_factory=list,
        description="CounterfactualConfig overrides, e.g. ['generator=openai', 'openai.model=gpt-4o']",
    )
    distill_overrides: list[str] = Field(
        default_factory=list,
        description="DistillConfig overrides for every run, e.g. ['train.max_steps=300']; with train.max_steps null "
        "every arm of a k takes the steps the baseline's k originals take in train.epochs (recorded as train.max_steps), "
        "so baseline and +CoD always take the same number of optimizer steps",
    )
    output_dir: str = Field("runs/sweep", description="results.jsonl, counterfactual files and the report go here")
    backend: Literal["local", "ray"] = "local"
    workers: int = Field(1, ge=1, description="parallel runs (local: processes; ray: concurrent tasks)")
    ray_address: str | None = Field(None, description="Ray cluster address (None: start a local Ray instance)")
    threads_per_worker: int | None = Field(None, ge=1, description="torch threads per run (default: cores / workers)")

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[SweepTask]) -> list[SweepTask]:
        # run keys and counterfactual folders are named by the task: two entries of one name would share them
        names = [t.task for t in tasks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"task {', '.join(dupes)} is listed more than once; one sweep holds one entry per task name "
                "(run other data of the same task in another sweep)"
            )
        return tasks

    @field_validator("ks")
    @classmethod
    def _even(cls, ks: list[int]) -> list[int]:
        bad = [k for k in ks if k < 2 or k % 2]
        if bad:
            raise ValueError(f"every k must be even and >= 2 (got {bad})")
        return sorted(set(ks))

    def mode_names(self) -> list[str]:
        """Run-key mode names: paper, full, multi<m>."""
        return [get_cod_mode(m).run_key(self.cod_m) for m in dict.fromkeys(self.cod_modes)]

    @field_validator("cod_modes")
    @classmethod
    def _known_modes(cls, modes: list[str]) -> list[str]:
        return [check_cod_mode(m) for m in modes]

    @field_validator("recipes")
    @classmethod
    def _known(cls, recipes: list[str]) -> list[str]:
        from codistill.distill.recipes import recipe_losses

        for r in recipes:
            recipe_losses(r)
        return recipes
