"""The Python API in a few calls: your texts in, counterfactuals and a distilled student out.

Every function takes a ``datasets.Dataset``, a list of row dicts, a file path, or a list of texts
with a list of labels (names such as ``"positive"`` or ids)::

    import codistill

    texts, labels = ["a moving, funny film", "dull and far too long"], ["positive", "negative"]
    teacher = codistill.train_teacher(texts, labels, model="minilm-l6").path
    cfs = codistill.generate_counterfactuals(texts, labels, teacher=teacher)
    config = codistill.DistillConfig(teacher=str(teacher), cod=True)
    result = codistill.Distiller(config, train=texts, labels=labels, counterfactuals=cfs).train()

Your texts are the budget: every one is trained on (no k-shot draw, no carved validation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _data_config(
    data: Any = None, *, label_names: Any = None, text_column: str = "text", label_column: str = "label"
) -> Any:
    from codistill.data import DataConfig

    config = data if data is not None else DataConfig()
    update = {"text_columns": [text_column], "label_column": label_column}
    if label_names is not None:
        update["label_names"] = list(label_names)
    return config.model_copy(update=update)


def load_texts(
    train: Any,
    labels: Any = None,
    *,
    test: Any = None,
    test_labels: Any = None,
    validation: Any = None,
    validation_labels: Any = None,
    unlabeled: Any = None,
    label_names: Any = None,
    text_column: str = "text",
    label_column: str = "label",
) -> Any:
    """Your own texts as a :class:`~codistill.data.TaskData` (training texts in ``pool``)."""
    from codistill.data.owned import load_owned

    config = _data_config(label_names=label_names, text_column=text_column, label_column=label_column)
    return load_owned(
        config,
        train=train,
        labels=labels,
        test=test,
        test_labels=test_labels,
        validation=validation,
        validation_labels=validation_labels,
        unlabeled=unlabeled,
    )


def generate_counterfactuals(
    train: Any,
    labels: Any = None,
    *,
    teacher: str | Path,
    per_original: int = 1,
    generator: str = "editor",
    output_dir: str | Path | None = None,
    label_names: Any = None,
    text_column: str = "text",
    label_column: str = "label",
    config: Any = None,
    **overrides: Any,
) -> list[Any]:
    """Teacher-verified counterfactuals for *every* text given (a list of ``CounterfactualRecord``).

    ``per_original`` > 1 keeps that many diverse ones per text (for ``cod_mode="multi"``);
    ``overrides`` are :class:`CounterfactualConfig` keys (``{"editor.max_rounds": 4}`` style)."""
    import tempfile

    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    data = load_texts(train, labels, label_names=label_names, text_column=text_column, label_column=label_column)
    cfg = config or CounterfactualConfig()
    cfg = cfg.model_copy(
        update={
            "teacher": str(teacher),
            "per_original": per_original,
            "generator": generator,
            "progress": False,
            "data": _data_config(
                cfg.data, label_names=data.task.label_names, text_column=text_column, label_column=label_column
            ),
        }
    )
    if overrides:
        cfg = cfg.with_overrides(overrides)
    cfg = CounterfactualConfig.from_dict(cfg.to_dict())  # validated (e.g. the generator's name)
    write = output_dir is not None
    cfg.output_dir = str(output_dir) if write else tempfile.mkdtemp(prefix="codistill-cf-")
    return run_counterfactuals(cfg, data=data, originals=data.pool, write=write, echo=lambda *a, **k: None).records


def train_teacher(
    train: Any,
    labels: Any = None,
    *,
    model: str | None = None,
    test: Any = None,
    test_labels: Any = None,
    validation: Any = None,
    validation_labels: Any = None,
    label_names: Any = None,
    text_column: str = "text",
    label_column: str = "label",
    config: Any = None,
    **overrides: Any,
) -> Any:
    """Fine-tune a teacher on your labelled texts; returns a ``TeacherResult`` (``.path`` is its folder)."""
    from codistill.teacher.config import TeacherConfig
    from codistill.teacher.finetune import train_teacher as finetune

    data = load_texts(
        train,
        labels,
        test=test,
        test_labels=test_labels,
        validation=validation,
        validation_labels=validation_labels,
        label_names=label_names,
        text_column=text_column,
        label_column=label_column,
    )
    cfg = config or TeacherConfig()
    if not data.validation:  # a teacher is selected on validation: carve it from the texts (class-stratified)
        from codistill.data.loading import carve_validation

        data.pool, data.validation = carve_validation(data.pool, data.num_labels, cfg.data, data.notes)
        data._fingerprint = None
    cfg = cfg.model_copy(
        update={
            "model": model or cfg.model,
            "data": _data_config(
                cfg.data, label_names=data.task.label_names, text_column=text_column, label_column=label_column
            ),
        }
    )
    if overrides:
        cfg = cfg.with_overrides(overrides)
    return finetune(cfg, data=data)
