"""Optimisation settings shared by every trainer (teacher fine-tuning, distillation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from codistill.config import ConfigBase


class TrainingConfig(ConfigBase):
    learning_rate: float = Field(5e-5, gt=0)
    epochs: float = Field(1.0, gt=0, description="training epochs (ignored when max_steps is set)")
    max_steps: int | None = Field(None, gt=0, description="fixed optimisation-step budget; overrides epochs")
    batch_size: int = Field(16, gt=0, description="per-device training batch size")
    eval_batch_size: int = Field(64, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    lr_scheduler: Literal["linear", "constant", "constant_with_warmup", "cosine"] = "linear"
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(128, gt=0, description="tokens per input; batches are padded only to their longest")
    evals_per_epoch: float = Field(4, gt=0, description="validation evaluations per epoch when selecting")
    eval_steps: int | None = Field(None, gt=0, description="evaluate every N steps (overrides evals_per_epoch)")
    select_best: bool = Field(True, description="keep the weights that score best on validation (never on test)")
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = Field(
        "auto", description="auto: bf16/fp16 on GPU, fp32 on CPU"
    )
    logging_steps: int = Field(50, gt=0)
    report_to: str = Field(
        "none", description="experiment trackers: none, or tensorboard, wandb, mlflow, trackio (comma-separated)"
    )
    run_name: str | None = Field(
        None, description="the run's name in trackers (default: the output folder's name; sweeps: the run key)"
    )
    logging_dir: str | None = Field(None, description="TensorBoard event files go here (default: runs/logs/<run name>)")
    seed: int = 0

    @field_validator("report_to", mode="before")
    @classmethod
    def _trackers(cls, value: Any) -> str:
        from codistill.training.trackers import parse_report_to

        return parse_report_to(value)

    @model_validator(mode="after")
    def _check(self) -> TrainingConfig:
        if self.max_steps is None and self.epochs <= 0:
            raise ValueError("set epochs > 0 or max_steps")
        return self

    def total_steps(self, num_examples: int, world_size: int = 1) -> int:
        if self.max_steps is not None:
            return self.max_steps
        per_step = self.batch_size * self.gradient_accumulation_steps * world_size
        steps_per_epoch = max(1, -(-num_examples // per_step))
        return max(1, int(round(steps_per_epoch * self.epochs)))

    def resolved_eval_steps(self, num_examples: int, world_size: int = 1) -> int:
        if self.eval_steps is not None:
            return self.eval_steps
        per_epoch = max(1, -(-num_examples // (self.batch_size * self.gradient_accumulation_steps * world_size)))
        return max(1, int(per_epoch / self.evals_per_epoch))

    def precision_flags(self) -> dict[str, Any]:
        import torch

        mode = self.mixed_precision
        if mode == "auto":
            if not torch.cuda.is_available():
                return {"bf16": False, "fp16": False}
            mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return {"bf16": mode == "bf16", "fp16": mode == "fp16"}

    def trackers(self) -> list[str]:
        return [] if self.report_to == "none" else self.report_to.split(",")

    def resolved_logging_dir(self, run_name: str) -> str:
        return self.logging_dir or str(Path("runs") / "logs" / (self.run_name or run_name))

    def trainer_arguments(self, output_dir: str, num_examples: int, *, run_name: str | None = None, **extra: Any):
        """``transformers.TrainingArguments`` for this config. Checkpointing is off: selection
        keeps the best weights in memory (see :class:`KeepBestCallback`). ``run_name`` names the
        run in trackers unless the config sets one. Under a multi-process launch ``batch_size``
        is per process, so an epoch takes ``1 / world_size`` as many steps."""
        import torch
        from transformers import TrainingArguments

        from codistill.training.trackers import require_trackers
        from codistill.utils import distributed

        require_trackers(self.trackers())
        world = distributed.launched_world_size()
        steps = self.total_steps(num_examples, world)
        selecting = self.select_best
        kwargs: dict[str, Any] = dict(
            output_dir=output_dir,
            per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.eval_batch_size,
            gradient_accumulation_steps=self.gradient_accumulation_steps,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            lr_scheduler_type=self.lr_scheduler,
            warmup_steps=int(round(self.warmup_ratio * steps)),
            max_grad_norm=self.max_grad_norm,
            max_steps=steps,
            eval_strategy="steps" if selecting else "no",
            eval_steps=self.resolved_eval_steps(num_examples, world) if selecting else None,
            save_strategy="no",
            logging_strategy="steps",
            logging_steps=self.logging_steps,
            report_to=self.trackers() or "none",
            run_name=self.run_name or run_name,
            seed=self.seed,
            data_seed=self.seed,
            dataloader_num_workers=0,
            dataloader_pin_memory=torch.cuda.is_available(),
            remove_unused_columns=False,
            disable_tqdm=False,
            **self.precision_flags(),
        )
        if world > 1 and distributed.use_cpu():
            kwargs["use_cpu"] = True  # gloo: without it accelerate would not join the processes on a CPU machine
        kwargs.update(extra)
        return TrainingArguments(**kwargs)
