"""The ``data`` section shared by every stage's config."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from codistill.config import ConfigBase


class DataConfig(ConfigBase):
    """Which task, from where, and how the validation split is carved from the pool."""

    task: str = Field("rotten_tomatoes", description="registered task name (see `codistill data tasks`)")
    data_dir: str | None = Field(
        None, description="directory with train/test[/validation] files; overrides the task's source"
    )
    source: str | None = Field(None, description="named source of the task (e.g. hub, packaged, full_stars)")
    text_columns: list[str] | None = Field(None, description="text column(s) in local files; default: the task's")
    label_column: str | None = Field(None, description="label column in local files; default: the task's")
    label_names: list[str] | None = Field(None, description="label names for the `local` task, index = label id")
    label_map: dict[str, int] | None = Field(None, description="raw label value -> label id for local files")
    validation_size: int | float = Field(
        500, gt=0, description="examples carved from the pool for selection (<1: a fraction)"
    )
    validation_max_fraction: float = Field(0.2, gt=0, lt=1, description="cap on the carve as a fraction of the pool")
    split_seed: int = Field(0, description="seed of the validation carve (fixed across k-shot seeds)")
    train_file: str | None = Field(
        None,
        description="your own training texts (csv/tsv/jsonl/parquet): every one is trained on, "
        "no pool, no k-shot draw, no carved validation",
    )
    test_file: str | None = Field(None, description="with train_file: optional test texts (metrics on them when given)")
    validation_file: str | None = Field(
        None, description="with train_file: optional validation texts (none: nothing is selected)"
    )
    unlabeled_file: str | None = Field(
        None, description="with train_file: texts the teacher labels, for KD and agreement metrics"
    )

    @property
    def owned(self) -> bool:
        """Exactly the user's own texts (train_file), not the benchmark protocol."""
        return self.train_file is not None

    @field_validator("text_columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
