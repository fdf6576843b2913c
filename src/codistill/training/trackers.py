"""Experiment trackers (``train.report_to``): TensorBoard, Weights & Biases, MLflow, Trackio.

The HF Trainer does the logging; this module checks that a requested tracker is installed (one
clear error instead of a traceback from inside the Trainer) and points TensorBoard at a folder
that outlives the run (the Trainer's own ``output_dir`` is a temporary folder codistill deletes).
Only the main process writes: the Trainer's callbacks log on world process zero.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from codistill.errors import ConfigError

#: tracker name -> the importable package it needs
TRACKERS = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "trackio": ("trackio",),
}


def parse_report_to(value: Any) -> str:
    """``"none"``, one tracker or several (comma-separated or a list) as a canonical string."""
    items = value if isinstance(value, (list, tuple)) else str(value if value is not None else "none").split(",")
    names = [str(n).strip().lower() for n in items if str(n).strip()]
    names = [n for n in dict.fromkeys(names) if n != "none"]
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise ValueError(f"unknown tracker(s) {unknown}; choose none or any of {', '.join(TRACKERS)}")
    return ",".join(names) or "none"


def require_trackers(names: list[str]) -> None:
    for name in names:
        if not any(importlib.util.find_spec(module) is not None for module in TRACKERS[name]):
            raise ConfigError(
                f"train.report_to={name} needs the {TRACKERS[name][0]} package: pip install {TRACKERS[name][0]}"
            )


def point_tensorboard(trainer: Any, logging_dir: str | Path) -> None:
    """Make the Trainer's TensorBoard callback (if any) write its event files to ``logging_dir``."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and getattr(callback, "tb_writer", None) is None:
            callback.logging_dir = str(Path(logging_dir).expanduser())
