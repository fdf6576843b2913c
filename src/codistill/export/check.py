"""Run an exported model with onnxruntime and measure its label agreement with the PyTorch model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codistill.errors import AssetError, CodistillError


class ExportRefused(CodistillError):
    """The exported model disagrees with the PyTorch model on too many texts."""


def require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise AssetError("ONNX export needs onnxruntime and onnx: pip install 'codistill[export]'") from None
    return onnxruntime


class OnnxClassifier:
    """An exported ``model.onnx`` with its tokenizer: texts -> logits, on CPU."""

    def __init__(self, path: str | Path, tokenizer: Any, max_length: int, *, threads: int | None = None) -> None:
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = tuple(i.name for i in self.session.get_inputs())
        self.tokenizer, self.max_length = tokenizer, max_length

    def encode(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        return {n: np.asarray(enc[n], dtype=np.int64) for n in self.input_names}

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, inputs)[0]

    def logits(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool | str = False) -> np.ndarray:
        return batched(lambda chunk: self.run(self.encode(chunk)), texts, batch_size, progress)


def batched(fn: Any, texts: Sequence[str], batch_size: int, progress: bool | str) -> np.ndarray:
    """``fn`` over length-sorted batches of ``texts`` (less padding), rows returned in input order."""
    from tqdm.auto import tqdm

    order = np.argsort([len(t) for t in texts], kind="stable")
    rows: list[np.ndarray | None] = [None] * len(texts)
    desc = progress if isinstance(progress, str) else "onnx"
    for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=not progress, leave=False):
        idx = order[start : start + batch_size]
        out = np.asarray(fn([texts[i] for i in idx]), dtype=np.float32)
        for i, row in zip(idx, out):
            rows[i] = row
    filled = [row for row in rows if row is not None]  # every row is filled: order is a permutation
    return np.stack(filled) if filled else np.zeros((0, 0), dtype=np.float32)


def torch_logits(
    module: Any,
    tokenizer: Any,
    input_names: Sequence[str],
    texts: Sequence[str],
    max_length: int,
    *,
    batch_size: int = 32,
    progress: bool | str = False,
) -> np.ndarray:
    """The PyTorch module's logits under exactly the tokenization the ONNX runner uses."""
    import torch

    def run(chunk: list[str]) -> np.ndarray:
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            return module(*(enc[n] for n in input_names)).float().numpy()

    module.eval()
    return batched(run, texts, batch_size, progress)


def label_agreement(reference: np.ndarray, exported: np.ndarray) -> float:
    """Share of texts on which the two logit matrices pick the same label."""
    if len(reference) == 0:
        raise ValueError("no texts to compare on")
    return float((reference.argmax(-1) == exported.argmax(-1)).mean())
