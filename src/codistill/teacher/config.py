"""Configuration of ``codistill teacher``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from codistill.config import ConfigBase
from codistill.data.config import DataConfig
from codistill.models.lora import LoraSettings
from codistill.models.prompting import VerbalizerConfig
from codistill.training.config import TrainingConfig
from codistill.training.setfit_train import SetFitConfig


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
    freeze_layers: int = Field(
        0,
        ge=0,
        description="keep the embeddings and the first N transformer layers fixed (a big teacher on CPU: the backward pass runs through the top layers only)",
    )
    head: Literal["classifier", "verbalizer"] = Field(
        "classifier",
        description="classifier: a sequence-classification head (encoders; decoders pool the last token); "
        "verbalizer: a causal LM scored through label words after a prompt (no head)",
    )
    verbalizer: VerbalizerConfig = Field(
        default_factory=VerbalizerConfig, description="prompt and label words (head: verbalizer)"
    )
    finetune: bool = Field(True, description="false: no training, the prompted LM as is (head: verbalizer)")
    lora: LoraSettings | None = Field(
        None, description="train LoRA adapters instead of all weights (saved as an adapter)"
    )
    max_eval_examples: int | None = Field(
        None, gt=0, description="score at most this many validation/test examples (stratified; for slow LLM teachers)"
    )
    method: Literal["finetune", "setfit"] = Field(
        "finetune",
        description="finetune: train a classifier on the pool; setfit: fit SetFit on k labelled texts only "
        "(codistill's class-balanced draw, seeded by train.seed), for a user with no teacher and no more labels",
    )
    k: int = Field(16, ge=2, description="labelled texts the setfit method fits on")
    setfit: SetFitConfig = Field(
        default_factory=SetFitConfig,
        description="SetFit settings of the setfit method (max_length None: train.max_length)",
    )
    train: TrainingConfig = Field(default_factory=TrainingConfig)
    output_dir: str | None = Field(None, description="where to save; default: a cache directory keyed by the inputs")

    @model_validator(mode="after")
    def _check(self) -> TeacherConfig:
        if not self.finetune and self.head != "verbalizer":
            raise ValueError("finetune: false needs head: verbalizer (a classification head must be trained)")
        if not self.finetune and self.lora is not None:
            raise ValueError("lora is set but finetune is false")
        if self.method == "setfit" and (self.head != "classifier" or self.lora is not None or not self.finetune):
            raise ValueError("method: setfit fits a sentence encoder and a head; head, lora and finetune do not apply")
        return self
