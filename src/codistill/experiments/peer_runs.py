"""Peer arms (SetFit, SetFit on the CoD set) in a sweep: their run keys, inputs and records.

A peer run shares its :class:`~codistill.distill.config.DistillConfig` with the KD run of the
same (task, k, seed, cod), so it draws the same k-shot texts and attaches the same
counterfactuals; its :class:`~codistill.training.setfit_train.SetFitConfig` joins the run's
inputs (and fingerprint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codistill.experiments.records import RunKey, RunRecord
from codistill.peers.methods import is_peer_recipe, peer_arm

if TYPE_CHECKING:
    from codistill.experiments.config import SweepConfig
    from codistill.experiments.sweep import Job

#: the distillation recipe whose config a peer run reuses (the recipe does not change the training set)
SHARED_RECIPE = "kd"


def peer_keys(config: SweepConfig, task: str) -> list[RunKey]:
    arms = [peer_arm(m) for m in dict.fromkeys(config.peers)]
    return [RunKey(task, recipe, cod, k, seed) for seed in config.seeds for k in config.ks for recipe, cod in arms]


def distill_recipe(key: RunKey) -> str:
    """The recipe of the DistillConfig a run of ``key`` is described by."""
    return SHARED_RECIPE if is_peer_recipe(key.recipe) else key.recipe


#: DistillConfig fields a peer run does not read (its own settings are the sweep's ``setfit``)
NOT_PEER_INPUTS = ("recipe", "losses", "select_metric")


def attach_peer(job: Job, config: SweepConfig) -> None:
    """Mark a peer job: its SetFit settings travel with it and, with the distillation fields it
    reads (data, k, seed, the CoD set, teacher, student path, training seed), make its inputs, so
    retuning the students' training never invalidates the peer's records."""
    if not is_peer_recipe(job.key.recipe):
        return
    job.peer = config.setfit.to_dict()
    distill = {k: v for k, v in job.inputs["distill"].items() if k not in NOT_PEER_INPUTS}
    distill["student"] = {"path": (distill.get("student") or {}).get("path")}
    distill["train"] = {"seed": (distill.get("train") or {}).get("seed")}
    job.inputs = {**job.inputs, "distill": distill, "setfit": job.peer}


def run_peer_job(job: Job, session: Any, record_metrics: tuple[str, ...]) -> dict[str, Any]:
    """Train and score one peer run; the record as a dict, like a distillation run's."""
    from codistill.distill.config import DistillConfig
    from codistill.peers.setfit_arm import run_setfit
    from codistill.training.setfit_train import SetFitConfig

    result = run_setfit(DistillConfig.from_dict(job.config), SetFitConfig.from_dict(job.peer or {}), session=session)

    def numbers(split: str) -> dict[str, float]:
        scores = result.metrics.get(split) or {}
        return {name: float(scores[name]) for name in record_metrics if isinstance(scores.get(name), (int, float))}

    train_set = {k: v for k, v in result.metrics["train_set"].items() if k != "ids"}
    timings = {k: round(float(v), 3) for k, v in result.timings.items()}
    config = {"distill": job.config, "setfit": result.metrics["setfit"]}
    return RunRecord(
        job.key,
        numbers("test"),
        timings,
        job.counterfactuals,
        config,
        train_set,
        job.fingerprint,
        job.inputs,
        numbers("validation"),
    ).to_dict()
