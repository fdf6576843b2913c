"""A SetFit model directory (sentence-transformers body + ``model_head.pkl``) as a classifier.

:func:`wrap_setfit` wraps a loaded ``setfit.SetFitModel`` as a torch module that maps
``tokenizer(texts)`` to ``.logits`` of shape (B, num_labels), like a transformers sequence
classifier, so codistill scores it, uses it as a teacher (KD targets, counterfactual
verification) and reads its hidden states through the same code as any other model.

Heads: a differentiable ``SetFitHead`` gives its logits as they are; an sklearn
``LogisticRegression`` head becomes the linear map whose softmax is its ``predict_proba``
(binary: logits ``[0, w.x + b]``; multinomial: ``W x + b``), so ``log_softmax(logits)`` is the
log of what setfit's ``predict_proba`` returns and the logits are differentiable.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from codistill.errors import AssetError

HEAD_FILE = "model_head.pkl"  # what setfit's save_pretrained writes beside the body


def is_setfit_dir(path: str | Path) -> bool:
    path = Path(str(path)).expanduser()
    return path.is_dir() and (path / HEAD_FILE).is_file() and (path / "modules.json").is_file()


def head_weights(head: Any, num_labels: int, dim: int) -> tuple[Any, Any]:
    """(weight (C, dim), bias (C,)) float32 tensors of a head whose softmax is its probabilities."""
    import torch

    if isinstance(head, torch.nn.Module):  # setfit.SetFitHead
        linear = cast(torch.nn.Linear, head.linear)
        scale = 1.0 / (float(getattr(head, "temperature", 1.0)) + float(getattr(head, "eps", 0.0)))
        return linear.weight.detach().float() * scale, linear.bias.detach().float() * scale
    coef, intercept, classes = (
        getattr(head, "coef_", None),
        getattr(head, "intercept_", None),
        getattr(head, "classes_", None),
    )
    if coef is None or classes is None:
        raise AssetError(
            f"unsupported SetFit head {type(head).__name__}: expected a LogisticRegression or a SetFitHead"
        )
    if [int(c) for c in classes] != list(range(num_labels)):
        raise AssetError(f"the SetFit head predicts classes {list(classes)}, the task has labels 0..{num_labels - 1}")
    coef, intercept = torch.as_tensor(coef, dtype=torch.float32), torch.as_tensor(intercept, dtype=torch.float32)
    if num_labels == 2 and coef.shape[0] == 1:  # sigmoid(z) == softmax([0, z])[1]
        return torch.cat([torch.zeros_like(coef), coef]), torch.cat([torch.zeros_like(intercept), intercept])
    if coef.shape != (num_labels, dim):
        raise AssetError(f"SetFit head weights of shape {tuple(coef.shape)}, expected ({num_labels}, {dim})")
    return coef, intercept


def _num_labels(model: Any) -> int:
    head = model.model_head
    if hasattr(head, "classes_"):
        return len(head.classes_)
    return int(head.linear.out_features)


def wrap_setfit(setfit_model: Any) -> Any:
    """A torch module: ``model(input_ids=..., attention_mask=...) -> .logits`` for a SetFitModel."""
    import torch
    from torch import nn

    body = setfit_model.model_body
    auto_model = body[0].auto_model
    dim = int((getattr(body, "get_embedding_dimension", None) or body.get_sentence_embedding_dimension)())
    num_labels = _num_labels(setfit_model)
    weight, bias = head_weights(setfit_model.model_head, num_labels, dim)

    class SetFitClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = body
            self.normalize = bool(getattr(setfit_model, "normalize_embeddings", False))
            self.classifier = nn.Linear(dim, num_labels)
            with torch.no_grad():
                self.classifier.weight.copy_(weight)
                self.classifier.bias.copy_(bias)
            self.config = copy.deepcopy(auto_model.config)
            self.config.num_labels = num_labels
            if getattr(setfit_model, "labels", None):
                self.config.id2label = dict(enumerate(setfit_model.labels))
                self.config.label2id = {n: i for i, n in enumerate(setfit_model.labels)}

        def get_input_embeddings(self) -> nn.Module:
            return self.body[0].auto_model.get_input_embeddings()

        def forward(
            self,
            input_ids=None,
            attention_mask=None,
            token_type_ids=None,
            inputs_embeds=None,
            output_hidden_states: bool = False,
            **_: Any,
        ):
            """The transformer (token ids or, for saliency, input embeddings), then the body's own
            pooling/normalisation modules, then the head."""
            modules = list(self.body)
            extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            out = modules[0].auto_model(
                input_ids=input_ids,
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                output_hidden_states=bool(output_hidden_states),
                return_dict=True,
                **extra,
            )
            if attention_mask is None:
                shape = (input_ids if input_ids is not None else inputs_embeds).shape[:2]
                attention_mask = torch.ones(shape, dtype=torch.long, device=out.last_hidden_state.device)
            features = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_embeddings": out.last_hidden_state,
            }
            for module in modules[1:]:
                features = module(features)
            emb = features["sentence_embedding"]
            if self.normalize:
                emb = nn.functional.normalize(emb, p=2, dim=1)
            hidden = tuple(out.hidden_states) if output_hidden_states else None
            return SimpleNamespace(logits=self.classifier(emb), hidden_states=hidden, sentence_embedding=emb)

    return SetFitClassifier()


def setfit_fingerprint(path: str | Path) -> str:
    """Content hash of every file of a SetFit directory (the head is a pickle)."""
    root = Path(str(path)).expanduser()
    h = hashlib.sha256()
    for p in sorted(
        q for q in root.rglob("*") if q.is_file() and q.suffix in (".json", ".safetensors", ".bin", ".txt", ".pkl")
    ):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def load_setfit(path: str | Path) -> tuple[Any, Any, str]:
    """``(classifier module, tokenizer, fingerprint)`` of a SetFit model directory."""
    try:
        from setfit import SetFitModel
    except ImportError:
        raise AssetError(
            f"{path} is a SetFit model: install the setfit extra (pip install 'codistill[setfit]')"
        ) from None
    model = SetFitModel.from_pretrained(str(Path(str(path)).expanduser()), device="cpu", local_files_only=True)
    classifier = wrap_setfit(model)
    classifier.eval()
    return classifier, model.model_body.tokenizer, setfit_fingerprint(path)
