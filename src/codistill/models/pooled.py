"""Students that pool the way their sentence encoder was trained, with a linear classification head.

A sentence-transformers directory (``modules.json``: Transformer -> Pooling [-> Normalize]) says
how its encoder turns token states into one vector: all-MiniLM-L6-v2 and all-mpnet-base-v2 were
trained mean-pooled and normalised, so a head on the [CLS] pooler (what
``AutoModelForSequenceClassification`` reads) starts from features the encoder never learnt.
:class:`PooledClassifier` wraps the transformer, that pooling and a linear head, and returns a
transformers ``SequenceClassifierOutput`` (logits, hidden_states), so codistill's trainer and loss
terms work on it unchanged.

Saved as a SetFit model directory (:mod:`codistill.models.setfit_format`): the sentence-transformers
body files, ``config_setfit.json`` and a differentiable ``SetFitHead`` in ``model_head.pkl``; the
head is also stored as ``pooled_head.safetensors`` + ``pooled_head.json``, which is what codistill
loads (no unpickling).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from codistill.errors import AssetError

PoolingMode = Literal["mean", "cls", "max", "lasttoken"]
POOLING_KEYS: dict[str, PoolingMode] = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_lasttoken": "lasttoken",
}
HEAD_WEIGHTS = "pooled_head.safetensors"
HEAD_CONFIG = "pooled_head.json"


@dataclass(frozen=True)
class PoolingSpec:
    """How token states become the sentence embedding (sentence-transformers' Pooling + Normalize)."""

    mode: PoolingMode = "mean"
    normalize: bool = False

    def pooling_config(self, dimension: int) -> dict[str, Any]:
        """``1_Pooling/config.json`` as sentence-transformers writes it."""
        config: dict[str, Any] = {"word_embedding_dimension": dimension}
        config.update({key: self.mode == mode for key, mode in POOLING_KEYS.items()})
        config.update(
            {
                "pooling_mode_mean_sqrt_len_tokens": False,
                "pooling_mode_weightedmean_tokens": False,
                "include_prompt": True,
            }
        )
        return config


def read_pooling(path: str | Path) -> PoolingSpec | None:
    """The pooling a sentence-transformers directory declares; ``None`` without a ``modules.json``."""
    root = Path(path)
    if not (root / "modules.json").is_file():
        return None
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AssetError(f"{root / 'modules.json'} is not valid JSON ({exc})") from None
    types = {m.get("type", "").rsplit(".", 1)[-1]: m for m in modules}
    if "Pooling" not in types:
        raise AssetError(f"{root}: modules.json has no Pooling module; cannot tell how to pool")
    config_path = root / types["Pooling"].get("path", "") / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    modes = [mode for key, mode in POOLING_KEYS.items() if config.get(key)]
    unsupported = [
        k for k in ("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens") if config.get(k)
    ]
    if len(modes) != 1 or unsupported:
        raise AssetError(
            f"{config_path}: exactly one of mean/cls/max/lasttoken pooling is supported; got {modes + unsupported}"
        )
    return PoolingSpec(mode=modes[0], normalize="Normalize" in types)


def pool(hidden: torch.Tensor, mask: torch.Tensor, spec: PoolingSpec) -> torch.Tensor:
    """(B, T, H) token states and (B, T) attention mask -> (B, H), as sentence-transformers pools."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    if spec.mode == "mean":
        out = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    elif spec.mode == "cls":
        out = hidden[:, 0]
    elif spec.mode == "max":
        out = hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(1).values
    else:  # lasttoken: the last position the mask keeps (right or left padding)
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (positions * mask).argmax(-1)
        out = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    return nn.functional.normalize(out, p=2, dim=-1) if spec.normalize else out


class PooledClassifier(nn.Module):
    """A transformer encoder, its sentence pooling and a (dropout +) linear classification head."""

    def __init__(
        self,
        encoder: Any,
        pooling: PoolingSpec,
        num_labels: int,
        *,
        dropout: float = 0.0,
        label_names: tuple[str, ...] | None = None,
        max_seq_length: int = 128,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.config = encoder.config  # trainer, loss shapes and reports read num_hidden_layers / hidden_size
        self.config.num_labels = num_labels
        if label_names:
            self.config.id2label = dict(enumerate(label_names))
            self.config.label2id = {n: i for i, n in enumerate(label_names)}
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.config.hidden_size, num_labels)
        std = getattr(self.config, "initializer_range", 0.02)
        nn.init.normal_(self.classifier.weight, std=std)
        nn.init.zeros_(self.classifier.bias)
        self.max_seq_length = max_seq_length  # recorded in sentence_bert_config.json when saved

    @property
    def label_names(self) -> tuple[str, ...]:
        id2label = self.config.id2label or {}
        return tuple(str(id2label.get(i, id2label.get(str(i), i))) for i in range(self.config.num_labels))

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def embed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        output_hidden_states: bool = False,
        **encoder_inputs: Any,
    ) -> tuple[torch.Tensor, Any]:
        """Sentence embeddings (B, H) and the encoder's outputs."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        outputs = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **encoder_inputs,
        )
        return pool(outputs.last_hidden_state, attention_mask, self.pooling), outputs

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        token_type_ids: torch.Tensor | None = None,
        **_: Any,
    ) -> Any:
        from transformers.modeling_outputs import SequenceClassifierOutput

        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        embedding, outputs = self.embed(
            input_ids, attention_mask, output_hidden_states=bool(output_hidden_states), **extra
        )
        logits = self.classifier(self.dropout(embedding))
        loss = nn.functional.cross_entropy(logits.float(), labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states if output_hidden_states else None
        )

    def save_pretrained(self, directory: str | Path) -> None:
        """A SetFit model directory (see :mod:`codistill.models.setfit_format`); save the tokenizer next to it."""
        from codistill.models.setfit_format import save_setfit_directory

        save_setfit_directory(self, Path(directory))


def is_pooled_directory(path: str | Path) -> bool:
    """A directory a :class:`PooledClassifier` was saved to (codistill's head files present)."""
    root = Path(path).expanduser()
    return (root / HEAD_WEIGHTS).is_file() and (root / HEAD_CONFIG).is_file()


def build_pooled(
    source: str,
    num_labels: int,
    label_names: tuple[str, ...] | None = None,
    *,
    layers: int | list[int] | None = None,
    pooling: PoolingSpec | None = None,
    dropout: float = 0.0,
) -> tuple[PooledClassifier, Any]:
    """A pooled student from a sentence-transformers directory, packaged name or any encoder
    (``pooling``: override; default: the directory's own, else mean). A classifier checkpoint
    (e.g. a fine-tuned teacher) contributes its encoder only. ``layers``: keep a subset."""
    from transformers import AutoModel

    from codistill.models.layer_subset import keep_layers
    from codistill.models.loading import load_tokenizer, resolve_model

    ref = resolve_model(source)
    if layers is None and pooling is None and is_pooled_directory(ref.path):  # continue from a saved pooled student
        model, tokenizer = load_pooled(ref.path, num_labels)
        model.dropout.p = dropout
        return model.train(), tokenizer
    tokenizer = load_tokenizer(ref)
    spec = pooling or read_pooling(ref.path) or PoolingSpec("mean")
    encoder = AutoModel.from_pretrained(ref.path, **ref.pretrained_kwargs())
    if layers is not None:
        encoder = keep_layers(encoder, layers)
    model = PooledClassifier(
        encoder,
        spec,
        num_labels,
        dropout=dropout,
        label_names=label_names,
        max_seq_length=_max_seq_length(Path(ref.path)),
    )
    return model, tokenizer


def load_pooled(path: str | Path, num_labels: int | None = None) -> tuple[PooledClassifier, Any]:
    """A saved :class:`PooledClassifier` (encoder, pooling, trained head) and its tokenizer."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    from codistill.models.loading import load_tokenizer

    root = Path(path).expanduser()
    head = json.loads((root / HEAD_CONFIG).read_text(encoding="utf-8"))
    if num_labels is not None and head["num_labels"] != num_labels:
        raise AssetError(
            f"{root} has {head['num_labels']} labels, the task has {num_labels}; use a model trained for this task"
        )
    spec = read_pooling(root) or PoolingSpec(head["pooling"], head["normalize"])
    encoder = AutoModel.from_pretrained(str(root))
    model = PooledClassifier(
        encoder,
        spec,
        head["num_labels"],
        dropout=head.get("dropout", 0.0),
        label_names=tuple(head["label_names"]),
        max_seq_length=_max_seq_length(root),
    )
    model.classifier.load_state_dict(load_file(str(root / HEAD_WEIGHTS)))
    model.eval()
    return model, load_tokenizer(str(root))


def _max_seq_length(root: Path) -> int:
    try:
        return int(json.loads((root / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 128
