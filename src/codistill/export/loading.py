"""A saved classifier as one traceable module ``(input_ids, attention_mask[, token_type_ids]) -> logits``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from codistill.errors import AssetError

SETFIT_CONFIG = "config_setfit.json"
SETFIT_HEAD = "model_head.pkl"


class Exporter(str, Enum):
    """Which torch.onnx exporter traces the model."""

    TORCHSCRIPT = "torchscript"  # torch.onnx.export(dynamo=False): seconds, the graph onnxruntime optimises best
    DYNAMO = "dynamo"  # torch.export-based: the default of recent torch, much slower to export


@dataclass
class Exportable:
    """What the exporter needs: the module, its tokenizer and what a deployer must know."""

    module: Any  # torch.nn.Module; forward(*inputs in ``input_names`` order) -> logits (B, num_labels)
    tokenizer: Any
    input_names: tuple[str, ...]
    label_names: tuple[str, ...]
    max_length: int
    kind: str  # "classifier" or "pooled"
    pooling: dict[str, Any] = field(default_factory=dict)  # pooled: {"mode": ..., "normalize": ...}


def is_setfit_directory(path: Path) -> bool:
    return (path / SETFIT_CONFIG).is_file() and (path / SETFIT_HEAD).is_file() and (path / "modules.json").is_file()


def load_exportable(model: str | Path, *, max_length: int | None = None) -> Exportable:
    """A plain classifier (directory, packaged name, LoRA adapter) or a SetFit directory, in eval mode."""
    path = Path(str(model)).expanduser()
    found = (
        _load_setfit(path, max_length)
        if path.is_dir() and is_setfit_directory(path)
        else _load_classifier(str(model), max_length)
    )
    found.module.eval()
    return found


def _input_names(tokenizer: Any, accepted: tuple[str, ...]) -> tuple[str, ...]:
    produced = set(tokenizer("a").keys())
    return tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in produced and n in accepted)


def _saved_max_length(path: Path) -> int | None:
    for name, key in (("distill_config.yaml", "train"), ("teacher_config.yaml", "train")):
        if (path / name).is_file():
            import yaml

            cfg = yaml.safe_load((path / name).read_text(encoding="utf-8")) or {}
            value = (cfg.get(key) or {}).get("max_length")
            if value:
                return int(value)
    return None


class _ClassifierLogits:
    """Built lazily so torch is imported only when exporting."""

    @staticmethod
    def build(model: Any, names: tuple[str, ...]) -> Any:
        import torch

        class ClassifierLogits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
                return self.model(**dict(zip(names, inputs))).logits

        return ClassifierLogits()


def _load_classifier(name: str, max_length: int | None) -> Exportable:
    from codistill.models.loading import load_scorer, resolve_model

    path = Path(name).expanduser()
    num_labels = 2
    config_file = path / "config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        num_labels = len(config.get("id2label") or {}) or config.get("num_labels") or 2
    elif not path.is_dir():
        resolve_model(name)
    model, tokenizer, _ = load_scorer(name, num_labels=num_labels)
    if (
        not hasattr(model, "config")
        or not hasattr(model.config, "id2label")
        or type(model).__name__.endswith("Verbalizer")
    ):
        raise AssetError(
            f"{name}: only sequence classifiers and SetFit directories can be exported (a verbalizer LM cannot)"
        )
    accepted = ("input_ids", "attention_mask", "token_type_ids")
    names = _input_names(tokenizer, accepted)
    id2label = model.config.id2label or {}
    labels = tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(model.config.num_labels))
    length = max_length or (_saved_max_length(path) if path.is_dir() else None) or 128
    return Exportable(_ClassifierLogits.build(model, names), tokenizer, names, labels, length, "classifier")


def _load_setfit(path: Path, max_length: int | None) -> Exportable:
    try:
        from setfit import SetFitModel
    except ImportError:
        raise AssetError("exporting a SetFit directory needs setfit: pip install 'codistill[export]'") from None
    import torch

    setfit = SetFitModel.from_pretrained(str(path), device="cpu")
    if not setfit.has_differentiable_head:
        raise AssetError(f"{path}: the head is a scikit-learn model; only a differentiable SetFitHead can be exported")
    if getattr(setfit.model_head, "multitarget", False) or setfit.multi_target_strategy:
        raise AssetError(f"{path}: multi-target SetFit models cannot be exported")
    body, head, normalize = setfit.model_body, setfit.model_head, bool(setfit.normalize_embeddings)
    tokenizer = body.tokenizer
    names = _input_names(tokenizer, ("input_ids", "attention_mask", "token_type_ids"))

    class PooledLogits(torch.nn.Module):
        """The body's own modules (Transformer -> Pooling [-> Normalize]) then the head's linear layer."""

        def __init__(self) -> None:
            super().__init__()
            self.body, self.head = body, head

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features: dict[str, torch.Tensor] = dict(zip(names, inputs))
            for module in self.body:
                features = module(features)
            embedding = features["sentence_embedding"]
            if normalize:
                embedding = torch.nn.functional.normalize(embedding, p=2, dim=-1)
            return self.head.linear(embedding) / (self.head.temperature + self.head.eps)

    labels = (
        tuple(str(x) for x in setfit.labels) if setfit.labels else tuple(f"LABEL_{i}" for i in range(head.out_features))
    )
    pooling = _pooling_description(body, normalize)
    length = max_length or int(body.max_seq_length or 128)
    return Exportable(PooledLogits(), tokenizer, names, labels, length, "pooled", pooling)


def _pooling_description(body: Any, normalize_embeddings: bool) -> dict[str, Any]:
    """How the body turns token states into the sentence embedding (its Pooling / Normalize modules)."""
    mode, normalize = "none", normalize_embeddings
    for module in body:
        name = type(module).__name__
        if name == "Pooling":
            config = module.get_config_dict()
            found = config.get("pooling_mode") or [
                k[len("pooling_mode_") :] for k, v in config.items() if k.startswith("pooling_mode_") and v
            ]
            mode = found if isinstance(found, str) else "+".join(found)
        normalize = normalize or name == "Normalize"
    return {"mode": mode, "normalize": normalize}
