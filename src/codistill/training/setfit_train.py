"""Fit a SetFit model (huggingface/setfit, the library itself) on labelled texts.

Used by the teacher-free peer arms of sweeps (``setfit``, ``setfit+cod``) and by
``codistill teacher --method setfit``. Defaults are SetFit's as a user runs them: batch 16, one
epoch, 20 pair iterations, body learning rate 2e-5, a logistic-regression head. One seed makes
a CPU run reproducible (setfit seeds its trainer from ``TrainingArguments.seed``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import Field

from codistill.config import ConfigBase
from codistill.errors import AssetError, ConfigError

DEFAULT_ENCODER = "minilm-l6"


class SetFitConfig(ConfigBase):
    """SetFit hyperparameters (setfit's own defaults unless set)."""

    encoder: str | None = Field(
        None, description="sentence encoder (packaged name or directory); None: the student's path, else minilm-l6"
    )
    batch_size: int = Field(16, ge=1, description="contrastive-stage batch size")
    num_epochs: int = Field(1, ge=1, description="contrastive-stage epochs")
    num_iterations: int | None = Field(
        20, ge=1, description="pairs per text and sign (None: setfit's oversampling strategy)"
    )
    body_learning_rate: float = Field(2e-5, gt=0)
    max_length: int | None = Field(
        None, gt=0, description="tokens the encoder reads (None: the encoder's max_seq_length)"
    )


@contextlib.contextmanager
def quiet_training() -> Iterator[None]:
    """setfit's trainer prints its loss dicts and progress bars; a sweep shows its own progress."""
    import datasets
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
            # the contrastive stage's DataLoader asks for pinned memory even with no GPU; harmless
            warnings.filterwarnings("ignore", message=".*'pin_memory' argument is set as true", category=UserWarning)
            yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        datasets.enable_progress_bars()


def _silence(trainer: Any) -> None:
    """No progress bars or loss prints from the contrastive stage's inner transformers Trainer."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    inner = getattr(trainer, "st_trainer", None)
    if inner is None:
        return
    for callback in (PrinterCallback, ProgressCallback):
        inner.remove_callback(callback)


def setfit_installed() -> bool:
    """Whether the optional setfit package is importable (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("setfit") is not None


def require_setfit() -> None:
    if not setfit_installed():
        raise ConfigError("SetFit needs the setfit package: pip install 'codistill[setfit]'")


def fit_setfit(
    encoder: str,
    texts: Sequence[str],
    labels: Sequence[int],
    config: SetFitConfig,
    seed: int,
    label_names: Sequence[str] | None = None,
) -> Any:
    """A trained ``setfit.SetFitModel`` (on CPU unless a GPU is present)."""
    require_setfit()
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from transformers.trainer_utils import set_seed

    from codistill.models.loading import resolve_model

    if len(set(labels)) < 2:
        raise ConfigError(f"SetFit needs texts of at least two labels (got {len(texts)} texts of {len(set(labels))})")
    ref = resolve_model(encoder)
    if ref.gguf_file:
        raise AssetError(
            f"{encoder} is a GGUF checkpoint; SetFit needs a sentence-transformers or transformers encoder"
        )
    set_seed(seed)  # the head of a non-sentence-transformers encoder and the body's dropout
    for name in ("setfit", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with quiet_training(), tempfile.TemporaryDirectory(prefix="codistill-setfit-") as out:
        model = SetFitModel.from_pretrained(
            ref.path, labels=list(label_names) if label_names else None, local_files_only=True
        )
        if config.max_length:
            model.model_body.max_seq_length = config.max_length
        args = TrainingArguments(
            output_dir=out,
            batch_size=config.batch_size,
            num_epochs=config.num_epochs,
            num_iterations=config.num_iterations,
            body_learning_rate=config.body_learning_rate,
            seed=seed,
            report_to="none",
            save_strategy="no",
            show_progress_bar=False,
            logging_strategy="no",
        )
        train = Dataset.from_dict({"text": list(texts), "label": [int(y) for y in labels]})
        trainer = Trainer(model=model, args=args, train_dataset=train)
        _silence(trainer)
        trainer.train()
    model.model_body.eval()
    return model
