"""Which initial weights a student starts from: a model directory, a pretrained model's layers, or
the fine-tuned teacher's own layers (``student.derive.source: teacher``, DistilBERT-style)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from codistill.distill.config import AUTO_SOURCE, PRETRAINED_DEFAULT, TEACHER_SOURCE, StudentConfig
from codistill.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class StudentSource:
    kind: Literal["path", "pretrained", "teacher"]
    name: str  # model directory / packaged name / hub id; the teacher directory for kind "teacher"
    layers: int | tuple[int, ...] | None = None  # None: all layers (path) or every other layer (teacher)
    pooled: bool = False  # a PooledClassifier (sentence pooling + linear head) instead of a transformers classifier
    pooling: str = "auto"  # pooled: mode override (auto: the encoder's own)
    normalize: bool | None = None  # pooled: normalisation override (None: the encoder's own)

    @property
    def fresh_head(self) -> bool:
        """A pretrained encoder has no trained head for the task; a teacher's head is kept. A pooled
        student's head is new unless it continues from a saved pooled student."""
        if self.pooled:
            from codistill.models.loading import resolve_model
            from codistill.models.pooled import is_pooled_directory

            return self.kind != "path" or not is_pooled_directory(resolve_model(self.name).path)
        return self.kind == "pretrained"

    def describe(self) -> dict[str, Any]:
        layers = list(self.layers) if isinstance(self.layers, tuple) else self.layers
        pooled = {"pooled": True, "pooling": self.pooling, "normalize": self.normalize} if self.pooled else {}
        return {"kind": self.kind, "name": self.name, "layers": layers} | pooled


def plain_classifier(path: str | None) -> bool:
    """A saved sequence-classifier directory (not a LoRA adapter or a verbalizer LM)."""
    if not path or not (Path(path).expanduser() / "config.json").is_file():
        return False
    root = Path(path).expanduser()
    if (root / "adapter_config.json").is_file() or any(root.glob("verbalizer*.json")):
        return False
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    return any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or [])


def saved_pooled(path: str) -> bool:
    from codistill.models.pooled import is_pooled_directory

    return Path(path).expanduser().is_dir() and is_pooled_directory(path)


def resolve_student(student: StudentConfig, teacher: str | None) -> StudentSource:
    pooled = student.kind == "pooled"
    if student.path is not None:
        # a saved pooled student (SetFit directory) stays pooled: a [CLS] head would silently replace its own
        return StudentSource(
            "path",
            student.path,
            pooled=pooled or saved_pooled(student.path),
            pooling=student.pooling,
            normalize=student.normalize,
        )
    derive = student.derive
    assert derive is not None  # StudentConfig requires path or derive
    layers = tuple(derive.layers) if isinstance(derive.layers, list) else derive.layers
    source = derive.source
    if source == AUTO_SOURCE:
        source = TEACHER_SOURCE if plain_classifier(teacher) else PRETRAINED_DEFAULT
    if source == TEACHER_SOURCE:
        if not plain_classifier(teacher):
            raise ConfigError(
                f"student.derive.source: teacher needs a teacher saved as a sequence classifier; {teacher!r} is not "
                "(LoRA and verbalizer teachers: derive from a pretrained model instead)"
            )
        return StudentSource(
            "teacher", str(teacher), layers, pooled=pooled, pooling=student.pooling, normalize=student.normalize
        )
    return StudentSource(
        "pretrained",
        source,
        2 if layers is None else layers,
        pooled=pooled,
        pooling=student.pooling,
        normalize=student.normalize,
    )


def build_student(
    source: StudentSource, num_labels: int, label_names: tuple[str, ...], head_dropout: float = 0.0
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The student's initial weights and tokenizer (the same every call: heads are seeded)."""
    from codistill.models import keep_layers, load_classifier, load_tokenizer, resolve_model
    from codistill.models.layer_subset import every_other_layer
    from codistill.utils.seed import seed_everything

    if source.pooled:
        return _build_pooled(source, num_labels, label_names, head_dropout)
    ref = resolve_model(source.name)
    tokenizer = load_tokenizer(ref)
    seed_everything(0)  # a missing head or pooler is initialised the same way in every process
    model = load_classifier(ref, num_labels=num_labels, label_names=label_names, tokenizer=tokenizer, role="student")
    if source.kind == "teacher":
        if model.config.num_labels != num_labels:
            raise ConfigError(f"the teacher has {model.config.num_labels} labels, the task {num_labels}")
        layers = source.layers if source.layers is not None else every_other_layer(model.config.num_hidden_layers)
        model = keep_layers(model, list(layers) if isinstance(layers, tuple) else layers)
    elif source.kind == "pretrained":
        assert source.layers is not None  # resolve_student always sets the layers of a pretrained source
        model = keep_layers(model, list(source.layers) if isinstance(source.layers, tuple) else source.layers)
    return model, tokenizer


def _build_pooled(
    source: StudentSource, num_labels: int, label_names: tuple[str, ...], head_dropout: float
) -> tuple[Any, Any]:
    """A pooled student: the whole encoder (path), some of its layers (pretrained), or some of a
    teacher's layers, which is then pooled as mean (a classifier teacher has no sentence pooling)."""
    from codistill.models.layer_subset import every_other_layer
    from codistill.models.loading import resolve_model
    from codistill.models.pooled import PoolingSpec, build_pooled, read_pooling
    from codistill.utils.seed import seed_everything

    layers: int | list[int] | None = list(source.layers) if isinstance(source.layers, tuple) else source.layers
    if source.kind == "teacher" and layers is None:
        config = json.loads((Path(resolve_model(source.name).path) / "config.json").read_text(encoding="utf-8"))
        layers = every_other_layer(int(config["num_hidden_layers"]))
    spec = None
    if source.pooling != "auto" or source.normalize is not None:
        own = read_pooling(resolve_model(source.name).path) or PoolingSpec("mean")
        mode = own.mode if source.pooling == "auto" else source.pooling
        spec = PoolingSpec(mode, own.normalize if source.normalize is None else source.normalize)  # type: ignore[arg-type]
    seed_everything(0)  # the head is initialised the same way in every process
    return build_pooled(source.name, num_labels, label_names, layers=layers, pooling=spec, dropout=head_dropout)
