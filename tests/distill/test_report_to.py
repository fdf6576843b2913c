"""train.report_to: the HF Trainer's trackers, with TensorBoard writing real event files offline."""

import pytest

from codistill.distill import DistillSession, distill
from codistill.errors import ConfigError
from codistill.training import TrainingConfig


def read_scalars(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_files_hold_the_logged_losses(base_config, tmp_path):
    pytest.importorskip("tensorboard")
    logs = tmp_path / "tb"
    cfg = base_config.with_overrides(
        {"train.report_to": "tensorboard", "train.logging_dir": str(logs), "save_model": False}
    )
    result = distill(cfg, session=DistillSession())
    assert list(logs.glob("events.out.tfevents.*"))
    scalars = read_scalars(logs)
    history = result.metrics["loss_history"]
    assert [h["step"] for h in history] == [3, 6]
    assert scalars["train/loss"] == pytest.approx({h["step"]: h["loss"] for h in history}, rel=1e-6)
    assert scalars["train/loss_kd"] == pytest.approx({h["step"]: h["loss_kd"] for h in history}, rel=1e-6)


def test_tensorboard_defaults_to_runs_logs_under_the_run_name(base_config, tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(tmp_path)
    cfg = base_config.with_overrides({"train.report_to": "tensorboard", "output_dir": str(tmp_path / "my-student")})
    distill(cfg, session=DistillSession())
    assert "train/loss" in read_scalars(tmp_path / "runs" / "logs" / "my-student")
    assert not list((tmp_path / "my-student").rglob("events.out.tfevents.*"))  # the saved student stays clean


def test_report_to_is_none_by_default_and_passes_through():
    assert TrainingConfig().report_to == "none"
    assert TrainingConfig().trainer_arguments("/tmp/x", 10).report_to == []
    cfg = TrainingConfig().with_overrides(["report_to=tensorboard, none,tensorboard", "run_name=abc"])
    assert cfg.report_to == "tensorboard"
    args = cfg.trainer_arguments("/tmp/x", 10, run_name="ignored")
    assert args.report_to == ["tensorboard"] and args.run_name == "abc"
    assert TrainingConfig(report_to=["wandb", "mlflow"]).trackers() == ["wandb", "mlflow"]
    with pytest.raises(ConfigError, match="unknown tracker"):
        TrainingConfig().with_overrides(["report_to=neptune"])


def test_a_missing_tracker_package_is_one_clear_error(monkeypatch):
    from codistill.training import trackers

    monkeypatch.setitem(trackers.TRACKERS, "wandb", ("codistill_no_such_package",))
    with pytest.raises(ConfigError, match="pip install codistill_no_such_package"):
        TrainingConfig(report_to="wandb").trainer_arguments("/tmp/x", 10)


def test_trackers_do_not_change_the_teacher_cache_key(task_data):
    from codistill.teacher import TeacherConfig
    from codistill.teacher.finetune import teacher_fingerprint

    plain = TeacherConfig()
    tracked = plain.with_overrides(["train.report_to=tensorboard", "train.run_name=x", "train.logging_dir=/tmp/tb"])
    assert teacher_fingerprint(plain, task_data, "m") == teacher_fingerprint(tracked, task_data, "m")
    assert teacher_fingerprint(plain, task_data, "m") != teacher_fingerprint(
        plain.with_overrides(["train.seed=3"]), task_data, "m"
    )
