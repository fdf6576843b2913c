"""Training infrastructure shared by teacher fine-tuning and distillation (HF Trainer based)."""

from codistill.training.callbacks import KeepBestCallback
from codistill.training.config import TrainingConfig
from codistill.training.dataset import EncodedDataset, PadCollator

__all__ = ["EncodedDataset", "KeepBestCallback", "PadCollator", "TrainingConfig"]
