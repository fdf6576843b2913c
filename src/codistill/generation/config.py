"""Configuration of ``codistill generate-distill`` (token-level KD for causal LMs)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from codistill.config import ConfigBase
from codistill.models.lora import LoraSettings
from codistill.training.config import TrainingConfig


class InstructionDataConfig(ConfigBase):
    """JSONL files of {prompt, response} records."""

    train: str = Field(..., description="training jsonl")
    eval: str | None = Field(None, description="evaluation jsonl (default: none)")
    prompt_field: str = "prompt"
    response_field: str = "response"
    max_train_examples: int | None = Field(None, gt=0)
    max_eval_examples: int | None = Field(None, gt=0)
    chat: bool = Field(True, description="format prompts with the tokenizer's chat template when it has one")


def _generation_training() -> TrainingConfig:
    return TrainingConfig(
        learning_rate=1e-4, max_steps=100, batch_size=4, select_best=False, max_length=256, logging_steps=10
    )


class TokenKDConfig(ConfigBase):
    """Distil a causal-LM teacher into a causal-LM student, token by token."""

    teacher: str = Field(..., description="causal LM: packaged name, directory or hub id")
    student: str = Field(..., description="causal LM sharing the teacher's tokenizer")
    data: InstructionDataConfig
    loss: Literal["forward_kl", "reverse_kl", "gjsd"] = "forward_kl"
    beta: float = Field(0.5, ge=0, le=1, description="gjsd interpolation (0: forward KL, 1: reverse KL)")
    temperature: float = Field(1.0, gt=0, description="softmax temperature of both distributions")
    lambda_on_policy: float = Field(
        0.0, ge=0, le=1, description="fraction of sequences the student generates itself (GKD lambda)"
    )
    max_new_tokens: int = Field(32, gt=0, description="answer length for on-policy sampling and evaluation")
    sampling_temperature: float = Field(1.0, gt=0, description="student sampling temperature on-policy")
    lora: LoraSettings | None = Field(None, description="train LoRA adapters on the student")
    train: TrainingConfig = Field(default_factory=_generation_training)
    output_dir: str | None = Field(None, description="save the (merged) student and metrics here")

    @model_validator(mode="after")
    def _check(self) -> TokenKDConfig:
        if self.train.select_best:
            raise ValueError("train.select_best is not supported for token-level KD (fixed step budget)")
        return self
