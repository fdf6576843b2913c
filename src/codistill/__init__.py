"""codistill: few-shot, task-aware distillation of text classifiers with counterfactuals.

The Python API (see README's quickstart)::

    import codistill

    cfs = codistill.generate_counterfactuals(texts, labels, teacher="path/to/teacher")
    config = codistill.DistillConfig(teacher="path/to/teacher", cod=True)
    result = codistill.Distiller(config, train=texts, labels=labels, counterfactuals=cfs).train()

- :class:`DistillConfig`: everything a run needs (YAML-round-trippable, as the CLI's ``--config``).
- :class:`Distiller`: one run as overridable steps; ``.train()`` returns a :class:`DistillResult`.
- :func:`generate_counterfactuals`, :func:`train_teacher`, :func:`load_texts`: the other stages on
  your texts (lists, row dicts, ``datasets.Dataset`` objects or files).
- :class:`CounterfactualConfig`, :class:`TeacherConfig`: those stages' configs.

The package is organised as one stage per sub-package (``data``, ``models``, ``teacher``,
``evaluation``, ...). Importing ``codistill`` itself is cheap: every name above is imported on
first use, and heavy dependencies (torch, transformers) only by the stages that need them.
"""

__version__ = "0.1.0"

from codistill.errors import CodistillError

_LAZY = {
    "DistillConfig": "codistill.distill.config",
    "Distiller": "codistill.distill.run",
    "DistillResult": "codistill.distill.run",
    "CounterfactualConfig": "codistill.counterfactuals.config",
    "TeacherConfig": "codistill.teacher.config",
    "generate_counterfactuals": "codistill.api",
    "train_teacher": "codistill.api",
    "load_texts": "codistill.api",
}

__all__ = ["CodistillError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codistill' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
