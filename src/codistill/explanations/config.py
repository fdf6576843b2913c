"""Configs of ``codistill explain`` (teacher explanations) and ``codistill explain-distill``
(explanation distillation into a small generative student)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from codistill.config import ConfigBase
from codistill.counterfactuals.config import EditorConfig, HFChatConfig, OpenAIConfig
from codistill.data import DataConfig
from codistill.models.lora import LoraSettings
from codistill.training.config import TrainingConfig

SOURCES = ("teacher", "openai", "hf-chat")
MODES = ("task", "rationale", "counterfactual", "both")


class ExplainConfig(ConfigBase):
    """Teacher explanations for every example of the k-shot budgets of ``seeds`` (their union)."""

    data: DataConfig = Field(default_factory=DataConfig)
    k: int = Field(64, description="k-shot budget; the largest k a student will train on (budgets are nested)")
    seeds: list[int] = Field(
        default_factory=lambda: [0], description="k-shot sampling seeds whose examples are explained"
    )
    eval_examples: int = Field(
        0, ge=0, description="also explain this many test examples (eval.jsonl: rationale overlap of students)"
    )
    teacher: str = Field(
        "", description="task teacher (classifier directory): labels, saliency, counterfactual verification"
    )
    source: Literal["teacher", "openai", "hf-chat"] = Field(
        "teacher",
        description="teacher: offline, the teacher's salient words + its verified counterfactual; openai / hf-chat: an LLM writes them",
    )
    evidence_words: int = Field(3, ge=1, description="salient words in a teacher-grounded rationale")
    counterfactuals: bool = Field(True, description="generate a verified counterfactual per example")
    critique: bool = Field(False, description="LLM sources: the LLM critiques its rationale")
    revise: bool = Field(
        False, description="LLM sources: the LLM revises its rationale after the critique (needs critique)"
    )
    max_attempts: int = Field(3, ge=1, description="counterfactual attempts per input (LLM sources)")
    max_budget_usd: float | None = Field(
        None, ge=0, description="stop cleanly before API spending would exceed this (whole run)"
    )
    teacher_batch_size: int = Field(64, ge=1)
    cache_dir: str | None = Field(
        None, description="default: $CODISTILL_HOME/counterfactuals (shared with `codistill counterfactuals`)"
    )
    use_cache: bool = True
    output_dir: str | None = Field(None, description="default: outputs/explanations/<task>-k<k>-<source>")
    progress: bool = True
    openai: OpenAIConfig = Field(default_factory=OpenAIConfig)
    hf_chat: HFChatConfig = Field(default_factory=HFChatConfig)
    editor: EditorConfig = Field(default_factory=EditorConfig)

    @model_validator(mode="after")
    def _check(self) -> ExplainConfig:
        if self.revise and not self.critique:
            raise ValueError("revise needs critique: true")
        if (self.critique or self.revise) and self.source == "teacher":
            raise ValueError("critique / revise need an LLM source (openai or hf-chat)")
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        return self


def _student_training() -> TrainingConfig:
    return TrainingConfig(
        learning_rate=2e-4, max_steps=None, epochs=5, batch_size=8, select_best=False, max_length=128, logging_steps=10
    )


class PromptsConfig(ConfigBase):
    """The three prefixes (``{text}`` is the input). Only the task prefix is used at prediction."""

    task: str = Field("task: classify the sentiment\ntext: {text}\nlabel:", description="the label word follows")
    rationale: str = Field("task: explain the sentiment\ntext: {text}\nevidence:")
    counterfactual: str = Field("task: flip the sentiment with a minimal edit\ntext: {text}\nedit:")
    chat: bool = Field(False, description="wrap prompts in the tokenizer's chat template")


class ExplainDistillConfig(ConfigBase):
    """Train a causal-LM student on labels and teacher explanations; evaluate both."""

    explanations: str = Field(
        ..., description="output directory of `codistill explain` (explanations.jsonl, config.yaml)"
    )
    student: str = Field("smollm2-135m-instruct", description="causal LM: packaged name, directory or hub id")
    mode: Literal["task", "rationale", "counterfactual", "both"] = Field(
        "both",
        description="task: label only; rationale / counterfactual: that explanation as an auxiliary target; both: both",
    )
    task_labels: Literal["gold", "teacher"] = Field(
        "gold", description="task target: the gold label or the teacher's prediction"
    )
    alpha: float = Field(0.5, ge=0, le=1, description="loss = alpha * task + (1 - alpha) * explanation")
    k: int | None = Field(None, description="k-shot budget (default: the explanations' k); must be <= it")
    seed: int = Field(0, description="k-shot sampling seed (must be one the explanations cover) and training seed")
    teacher: str | None = Field(
        None, description="task teacher for agreement/validity/simulatability (default: the explanations')"
    )
    prompts: PromptsConfig = Field(default_factory=PromptsConfig)
    lora: LoraSettings | None = Field(None, description="train LoRA adapters on the student (merged at the end)")
    train: TrainingConfig = Field(default_factory=_student_training)
    max_eval_examples: int | None = Field(
        500, gt=0, description="test examples scored for the task (stratified subsample)"
    )
    explain_eval_examples: int = Field(100, ge=0, description="test examples the student explains (generation is slow)")
    max_new_tokens: int | None = Field(
        None, gt=0, description="length of generated explanations (default: the longest training target + 4)"
    )
    output_dir: str | None = Field(None, description="save the (merged) student, metrics and its explanations here")

    @field_validator("train", mode="before")
    @classmethod
    def _fixed_budget(cls, value):
        # a partial `train:` section keeps this config's fixed budget (no selection on validation)
        if isinstance(value, dict) and "select_best" not in value:
            value = {**value, "select_best": False}
        return value

    @model_validator(mode="after")
    def _check(self) -> ExplainDistillConfig:
        if self.train.select_best:
            raise ValueError("train.select_best is not supported here (fixed budget; the test split never selects)")
        return self
