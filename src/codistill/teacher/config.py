"""Configuration of ``codistill teacher``."""

from __future__ import annotations

from pydantic import Field

from codistill.config import ConfigBase
from codistill.data.config import DataConfig
from codistill.training.config import TrainingConfig


class TeacherConfig(ConfigBase):
    """Fine-tune a classifier on a task's pool, select on validation, report test."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: str = Field("minilm-l6", description="packaged name, local directory or hub id")
    trust_remote_code: bool = False
    max_train_examples: int | None = Field(
        None, gt=0, description="seeded class-stratified subsample of the pool to train on (None: all)"
    )
    freeze_embeddings: bool = Field(
        False, description="keep the word-embedding matrix fixed (much cheaper steps on CPU; see models/freeze.py)"
    )
    train: TrainingConfig = Field(default_factory=TrainingConfig)
    output_dir: str | None = Field(None, description="where to save; default: a cache directory keyed by the inputs")
