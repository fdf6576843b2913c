"""Saving a :class:`~codistill.models.pooled.PooledClassifier` as a SetFit model directory.

The directory loads without codistill::

    from setfit import SetFitModel
    model = SetFitModel.from_pretrained(directory)
    model.predict(["a charming film"])          # label names
    model.predict_proba(["a charming film"])    # softmax of the student's logits

or, for embeddings only, ``sentence_transformers.SentenceTransformer(directory)``. Files:

- ``config.json``, ``model.safetensors``, tokenizer files: the transformer (a plain transformers model);
- ``modules.json``, ``1_Pooling/config.json``, ``2_Normalize/`` (if the encoder normalises),
  ``sentence_bert_config.json`` (``max_seq_length``: the length the student was trained on):
  the sentence-transformers body;
- ``config_setfit.json`` (label names) and ``model_head.pkl``: a differentiable ``setfit.SetFitHead``
  holding the student's linear head (written when setfit is installed);
- ``pooled_head.safetensors`` + ``pooled_head.json``: the same head as plain tensors, which is what
  codistill loads (no unpickling).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from codistill.models.pooled import HEAD_CONFIG, HEAD_WEIGHTS

if TYPE_CHECKING:
    from codistill.models.pooled import PooledClassifier

SETFIT_CONFIG = "config_setfit.json"
SETFIT_HEAD = "model_head.pkl"


def sentence_transformer_modules(normalize: bool) -> list[dict[str, object]]:
    modules: list[dict[str, object]] = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    return modules


def save_setfit_directory(model: PooledClassifier, directory: Path) -> None:
    """Write the body, both head formats and the SetFit config into ``directory`` (which exists)."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(directory)
    spec, width = model.pooling, model.config.hidden_size
    _write_json(directory / "modules.json", sentence_transformer_modules(spec.normalize))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    _write_json(directory / "1_Pooling" / "config.json", spec.pooling_config(width))
    if spec.normalize:
        (directory / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        directory / "sentence_bert_config.json", {"max_seq_length": model.max_seq_length, "do_lower_case": False}
    )
    labels = list(model.label_names)
    _write_json(directory / SETFIT_CONFIG, {"normalize_embeddings": False, "labels": labels})
    head = model.classifier
    save_file({k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}, str(directory / HEAD_WEIGHTS))
    _write_json(
        directory / HEAD_CONFIG,
        {
            "num_labels": head.out_features,
            "label_names": labels,
            "pooling": spec.mode,
            "normalize": spec.normalize,
            "dropout": float(model.dropout.p),
            "in_features": head.in_features,
        },
    )
    setfit_head = make_setfit_head(model)
    if setfit_head is not None:
        import joblib

        joblib.dump(setfit_head, str(directory / SETFIT_HEAD))


def make_setfit_head(model: PooledClassifier):  # noqa: ANN201 - setfit is optional
    """A ``setfit.SetFitHead`` computing exactly the student's logits (None without setfit).
    SetFitHead divides its logits by ``temperature + eps``: eps is set to 0 so they are unscaled."""
    try:
        from setfit import SetFitHead
    except ImportError:
        return None
    import torch

    head = model.classifier
    out = SetFitHead(
        in_features=head.in_features,
        out_features=head.out_features,
        temperature=1.0,
        eps=0.0,
        bias=head.bias is not None,
        device="cpu",
    )
    with torch.no_grad():
        out.linear.weight.copy_(head.weight.detach().cpu())
        if head.bias is not None:
            out.linear.bias.copy_(head.bias.detach().cpu())
    return out.eval()


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
