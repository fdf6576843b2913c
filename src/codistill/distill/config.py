"""Configuration of ``codistill distill`` and ``codistill evaluate``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from codistill.config import ConfigBase
from codistill.data.config import DataConfig
from codistill.distill.budget_modes import DEFAULT_COD_MODE, CodMode, check_cod_mode, describe_modes, get_cod_mode
from codistill.models.lora import LoraSettings
from codistill.training.config import TrainingConfig


class LossSpec(ConfigBase):
    """One weighted term: ``{name: kd, weight: 20, temperature: 2}``; keys other than name and
    weight are the term's parameters."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str
    weight: float = Field(1.0, ge=0)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


TEACHER_SOURCE = "teacher"
AUTO_SOURCE = "auto"
PRETRAINED_DEFAULT = "minilm-l6"


class DeriveConfig(ConfigBase):
    """A student made of some of a model's layers: the fine-tuned teacher's own (``teacher``), or a
    pretrained model's (packaged name, path or hub id)."""

    source: str = Field(
        AUTO_SOURCE,
        description="teacher: the fine-tuned teacher's own layers and head (DistilBERT-style); a packaged name, "
        "path or hub id: that pretrained model's layers; auto: teacher when the teacher is a plain "
        f"sequence classifier (the student then shares its architecture), else {PRETRAINED_DEFAULT}",
    )
    layers: int | list[int] | None = Field(
        None,
        description="number of layers (spread evenly) or explicit indices; default: every other layer "
        "of the teacher (first and last kept), 2 of a pretrained model",
    )


class ContrastiveConfig(ConfigBase):
    """A SetFit-style contrastive stage on a pooled student's sentence embeddings, before KD: pairs
    of training texts with the same teacher label are positives (cosine target 1), each original and
    its counterfactual a negative (target 0, the hardest negative there is), plus pairs of texts with
    different teacher labels as further negatives; loss: squared error of the pair's cosine."""

    pairs_per_text: int = Field(
        20,
        ge=1,
        description="pairs per text of the budget k (SetFit's num_iterations), half positive, half negative; "
        "the total (pairs_per_text x k) is spread evenly over every training text, counterfactuals included, so KD and "
        "KD+CoD runs of the same k take the same number of contrastive steps",
    )
    epochs: int = Field(1, ge=1)
    learning_rate: float = Field(2e-5, gt=0)
    batch_size: int = Field(16, gt=0)


StudentKind = Literal["classifier", "pooled"]


class StudentConfig(ConfigBase):
    """Either a model directory (``path``) or a layer subset of a pretrained model (``derive``)."""

    kind: StudentKind = Field(
        "classifier",
        description="classifier: transformers AutoModelForSequenceClassification (head on the [CLS] pooler); "
        "pooled: the encoder pooled as its sentence-transformers modules.json says (mean for minilm-l6 / mpnet-base; mean "
        "when there is none) + a linear head, saved as a SetFit model directory",
    )
    head_dropout: float = Field(
        0.0, ge=0, lt=1, description="pooled students: dropout on the sentence embedding before the head"
    )
    pooling: Literal["auto", "mean", "cls", "max", "lasttoken"] = Field(
        "auto",
        description="pooled students: auto = as the encoder's modules.json / 1_Pooling says (mean when it has none)",
    )
    normalize: bool | None = Field(
        None, description="pooled students: L2-normalise the embedding (None: as the encoder's modules.json says)"
    )
    contrastive: ContrastiveConfig | None = Field(
        None, description="pooled students: a contrastive stage before KD (off by default)"
    )
    path: str | None = Field(None, description="student model directory, packaged name or hub id")
    derive: DeriveConfig | None = Field(default_factory=DeriveConfig)
    reinit_head: bool | None = Field(
        None,
        description="re-initialise the classification head with the run seed (default: for students derived from a pretrained model; a teacher-derived student keeps the teacher's head)",
    )
    head_probe: bool = Field(
        False,
        description="before training, fit the head's output layer as a linear probe on the frozen student's features to "
        "the teacher's probabilities on the training texts (LP-FT); it only helps when the head's input features already "
        "separate the task (docs/results.md, 'Student selection': no gain for MiniLM-L6, whose [CLS] pooler features "
        "carry little)",
    )
    freeze_embeddings: bool = Field(
        True,
        description="freeze the word-embedding matrix (most of a small student's parameters; a k-shot batch touches few rows)",
    )
    lora: LoraSettings | None = Field(None, description="train LoRA adapters (and the head) instead of all weights")
    save_adapter: bool = Field(False, description="with lora: save the adapter instead of the merged, exported model")

    @model_validator(mode="after")
    def _one_source(self) -> StudentConfig:
        if self.path is not None and self.derive is not None:
            # an explicit path wins over the default derive section
            object.__setattr__(self, "derive", None)
        if self.path is None and self.derive is None:
            raise ValueError("set student.path or student.derive")
        if self.kind == "pooled" and self.lora is not None:
            raise ValueError("student.kind: pooled does not support lora (train the whole pooled student)")
        if self.kind != "pooled" and (self.pooling != "auto" or self.normalize is not None or self.head_dropout):
            raise ValueError("student.pooling, student.normalize and student.head_dropout need student.kind: pooled")
        if self.contrastive is not None and self.kind != "pooled":
            raise ValueError("student.contrastive needs student.kind: pooled (it trains the sentence embeddings)")
        if self.save_adapter and (self.lora is None or self.path is None):
            raise ValueError(
                "save_adapter needs lora and student.path (a derived student has no saved base to attach an adapter to)"
            )
        return self


class EvalConfig(ConfigBase):
    test: bool = Field(True, description="score the test split at the end (reported only, never used for selection)")
    counterfactuals: str | None = Field(
        None, description="counterfactual file for flip consistency (default: held-out pairs of the training file)"
    )
    contrast: str | None = Field(
        None,
        description="gold contrast pairs (jsonl: original, counterfactual, label, counterfactual_label) scored after training",
    )
    batch_size: int = Field(128, gt=0)


def _distill_training() -> TrainingConfig:
    return TrainingConfig(
        learning_rate=1e-4,
        max_steps=200,
        batch_size=8,
        warmup_ratio=0.1,
        lr_scheduler="linear",
        select_best=False,
        eval_steps=50,
        weight_decay=0.01,
        logging_steps=25,
    )


class DistillConfig(ConfigBase):
    """Distil ``teacher`` into ``student`` on a k-shot budget, optionally with counterfactuals."""

    data: DataConfig = Field(default_factory=DataConfig)
    teacher: str | None = Field(None, description="teacher model directory (e.g. from `codistill teacher`); required")
    student: StudentConfig = Field(default_factory=StudentConfig)
    k: int = Field(
        16, description="budget: k originals drawn from the pool (with cod, cod_mode says what the counterfactuals add)"
    )
    seed: int = Field(0, description="k-shot sampling seed; the training seed is seed + train.seed")
    train_texts: Literal["sample", "all"] = Field(
        "sample",
        description="sample: a k-shot draw from the task's pool (the benchmark protocol); all: every training text, exactly "
        "(your own texts: data.train_file or texts given in Python; k is then their number)",
    )
    cod: bool = Field(
        False, description="train on teacher-verified counterfactuals of the originals too (how many: cod_mode)"
    )
    cod_mode: str = Field(
        DEFAULT_COD_MODE,
        description="with cod, how the budget is spent (distill/budget_modes.py): " + describe_modes(),
    )
    cod_m: int = Field(
        3,
        ge=1,
        le=8,
        description="counterfactuals per original in cod_mode=multi (the file needs per_original >= this)",
    )
    counterfactuals: str | None = Field(
        None, description="counterfactual jsonl (original_id, counterfactual_text, counterfactual_label)"
    )
    missing_counterfactuals: Literal["error", "skip"] = Field(
        "skip", description="an original with no counterfactual: fail, or train without one"
    )
    reuse_counterfactuals: bool = Field(
        False,
        description="accept a counterfactual file made for another task or teacher (recorded in the run); default: refuse",
    )
    keep_non_flips: bool = Field(
        False,
        description="train on counterfactuals that do not flip this teacher (default: drop them, and count them in the report)",
    )
    counterfactual_labels: Literal["teacher", "flipped_gold"] = Field(
        "teacher",
        description="label of an attached counterfactual: teacher = this teacher's prediction on it (non-flips dropped "
        "unless keep_non_flips); flipped_gold = 1 - the original's gold label with no teacher check, every attached "
        "counterfactual kept (the CoD reference code's unverified labels; binary tasks only)",
    )
    recipe: str = Field("kd", description="named loss list (kd, lwd, ted, ce); ignored when losses is set")
    losses: list[LossSpec] | None = Field(None, description="explicit weighted loss terms (overrides recipe)")
    select_metric: Literal["agreement", "accuracy", "macro_f1", "mcc", "kl"] = Field(
        "agreement", description="validation metric for train.select_best (agreement/kl need no labels)"
    )
    train: TrainingConfig = Field(default_factory=_distill_training)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    signals_cache: bool = Field(
        True, description="keep teacher signals on disk (cache_home()/signals) as well as in memory"
    )
    teacher_max_length: int | None = Field(
        None, gt=0, description="tokens the teacher reads (None: the train.max_length it was trained with, else 128)"
    )
    save_model: bool = Field(True, description="save the student; sweeps may keep only the metrics")
    output_dir: str | None = Field(None, description="default: runs/distill/<task>-<recipe>[-cod]-k<k>-s<seed>")

    @field_validator("cod_mode")
    @classmethod
    def _known_mode(cls, name: str) -> str:
        return check_cod_mode(name)

    @field_validator("k")
    @classmethod
    def _even(cls, k: int) -> int:
        if k < 2:
            raise ValueError("k must be >= 2")
        return k

    @model_validator(mode="after")
    def _check(self) -> DistillConfig:
        from codistill.distill.recipes import recipe_losses

        if self.losses is None:
            recipe_losses(self.recipe)  # unknown recipe -> error now, not after loading models
        if self.data.owned and self.train_texts == "sample":
            object.__setattr__(self, "train_texts", "all")  # a training file means exactly its texts
        if self.cod and self.train.batch_size % 2:
            # a batch holds whole (original, counterfactual) pairs: an odd size would leave one
            # slot empty, so CoD batches would be smaller than the baseline's
            raise ValueError(
                f"cod needs an even train.batch_size (got {self.train.batch_size}): batches hold whole pairs"
            )
        return self

    def loss_specs(self) -> list[LossSpec]:
        from codistill.distill.recipes import recipe_losses

        if self.losses is not None:
            return list(self.losses)
        return [LossSpec(**spec) for spec in recipe_losses(self.recipe)]

    @property
    def method(self) -> str:
        name = self.recipe if self.losses is None else "custom"
        if self.cod:
            name += "+cod" if self.counterfactuals else "+half"
            name += self.budget_mode.suffix(self.cod_m) if self.counterfactuals else ""
        return name

    @property
    def budget_mode(self) -> CodMode:
        return get_cod_mode(self.cod_mode)


class EvaluateConfig(ConfigBase):
    """Score a saved student against its teacher."""

    data: DataConfig = Field(default_factory=DataConfig)
    teacher: str
    student: str
    split: Literal["test", "validation"] = "test"
    counterfactuals: str | None = None
    contrast: str | None = Field(
        None, description="gold contrast pairs (jsonl: original, counterfactual, label, counterfactual_label)"
    )
    max_length: int = Field(128, gt=0, description="tokens the student reads")
    teacher_max_length: int | None = Field(
        None, gt=0, description="tokens the teacher reads (None: the train.max_length it was trained with, else 128)"
    )
    batch_size: int = Field(128, gt=0)
    signals_cache: bool = True
