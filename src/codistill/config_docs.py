"""Reference text generated from the code: every config section's fields (from the pydantic
``Field`` descriptions) as Markdown tables or as YAML with comments, and the CLI's help pages.

The documentation site builds its configuration and CLI reference pages from these functions
(``docs/hooks.py``), and ``--print-config`` writes the same descriptions as YAML comments, so the
docs cannot drift from the code.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

#: config sections documented on the reference page, in pipeline order: (title, dotted class path)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("data", "codistill.data.config.DataConfig"),
    ("training (train:)", "codistill.training.config.TrainingConfig"),
    ("teacher", "codistill.teacher.config.TeacherConfig"),
    ("counterfactuals", "codistill.counterfactuals.config.CounterfactualConfig"),
    ("distill", "codistill.distill.config.DistillConfig"),
    ("evaluate", "codistill.distill.config.EvaluateConfig"),
    ("sweep", "codistill.experiments.config.SweepConfig"),
    ("explain", "codistill.explanations.config.ExplainConfig"),
    ("explain-distill", "codistill.explanations.config.ExplainDistillConfig"),
    ("token-level KD (generation)", "codistill.generation.config.TokenKDConfig"),
)


def _import(dotted: str) -> type[BaseModel]:
    import importlib

    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    """Config classes inside a field's type (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _nested_models(arg)
    return found


def type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
        if isinstance(value, BaseModel):
            return "(section)"
        return json.dumps(value, default=str)
    if field.default is PydanticUndefined:
        return "(required)"
    return json.dumps(field.default, default=str)


def markdown_reference(sections: tuple[tuple[str, str], ...] = SECTIONS) -> str:
    """One table per config class (nested sections after their parent), every field described."""
    out = [
        "# Configuration reference",
        "",
        "Generated from the code (pydantic `Field` descriptions). Every key can be set in a YAML file "
        "(`--config`), or on the command line as `--set section.key=value`.",
        "",
    ]
    seen: set[type[BaseModel]] = set()
    for title, dotted in sections:
        out += _class_tables(_import(dotted), title, seen)
    return "\n".join(out) + "\n"


def _class_tables(cls: type[BaseModel], title: str, seen: set[type[BaseModel]]) -> list[str]:
    if cls in seen:
        return []
    seen.add(cls)
    doc = " ".join((cls.__doc__ or "").split())
    lines = [
        f"## {title}",
        "",
        f"`{cls.__module__}.{cls.__name__}`" + (f": {doc}" if doc else ""),
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in cls.model_fields.items():
        desc = " ".join((field.description or "").split()).replace("|", "\\|")
        kind = type_name(field.annotation).replace("|", "\\|")
        lines.append(f"| `{name}` | {kind} | `{default_text(field)}` | {desc} |")
        nested += [(f"{title} > {name}", sub) for sub in _nested_models(field.annotation)]
    lines.append("")
    for sub_title, sub in nested:
        lines += _class_tables(sub, sub_title, seen)
    return lines


def commented_yaml(config: BaseModel, indent: int = 0) -> str:
    """``config`` as YAML with each field's description as a comment above it."""
    import yaml

    pad = " " * indent
    lines: list[str] = []
    for name, field in type(config).model_fields.items():
        if field.description:
            lines += [f"{pad}# {line}" for line in _wrap(" ".join(field.description.split()), 100 - indent)]
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.append(commented_yaml(value, indent + 2).rstrip("\n"))
            continue
        dumped = value.model_dump(mode="json") if isinstance(value, BaseModel) else _jsonable(value)
        text = yaml.safe_dump({name: dumped}, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip(
            "\n"
        )
        lines += [pad + line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(width, 40)) or [""]


def cli_reference() -> str:
    """Every command's ``--help`` page, in command-tree order."""
    import typer.main

    from codistill.cli import app

    root = typer.main.get_command(app)
    out = ["# CLI reference", "", "Generated from the command-line app (`codistill COMMAND --help`).", ""]

    # typer may vendor its own click: take Context from the command's own module
    context_class = root.context_class

    def visit(cmd: Any, path: list[str]) -> None:
        ctx = context_class(cmd, info_name=" ".join(path), parent=None)
        if len(path) > 1:
            out.extend([f"## `{' '.join(path)}`", "", "```text", cmd.get_help(ctx).rstrip(), "```", ""])
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    visit(sub, [*path, name])

    visit(root, ["codistill"])
    return "\n".join(out) + "\n"
