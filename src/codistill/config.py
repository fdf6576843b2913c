"""Typed configuration: pydantic models that load from YAML, take ``key=value`` overrides and
round-trip exactly (``Config.from_yaml(cfg.to_yaml()) == cfg``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from codistill.errors import ConfigError
from codistill.utils.hashing import fingerprint

C = TypeVar("C", bound="ConfigBase")


class ConfigBase(BaseModel):
    """Base for every codistill config: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    @model_validator(mode="after")
    def _seeds_in_range(self):
        """Every ``seed`` / ``seeds`` / ``*_seed`` field holds seeds from 0 to 2**32 - 1."""
        from codistill.utils.seed import seed_problem

        for name in type(self).model_fields:
            if name in ("seed", "seeds") or name.endswith("_seed"):
                value = getattr(self, name)
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    if item is not None and (problem := seed_problem(item, name)):
                        raise ValueError(problem)
        return self

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: str | os.PathLike) -> Path:
        from codistill.utils.io import atomic_write_text

        return atomic_write_text(path, self.to_yaml())

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], source: str = "config") -> C:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {_format_validation_error(exc)}") from None

    @classmethod
    def from_yaml(cls: type[C], text_or_path: str | os.PathLike) -> C:
        """Load from a YAML string or a path to a YAML file."""
        source = "config"
        text = str(text_or_path)
        if isinstance(text_or_path, os.PathLike) or ("\n" not in text and text.endswith((".yaml", ".yml"))):
            path = Path(text_or_path).expanduser()
            if path.is_dir():
                raise ConfigError(f"config {path} is a directory; give a YAML file")
            if not path.is_file():
                raise ConfigError(f"config file not found: {path}")
            try:
                source, text = str(path), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise ConfigError(f"config {path} is not UTF-8 text (is it a YAML file?)") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: {_yaml_problem(exc)}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping at the top level")
        return cls.from_dict(data, source)

    def with_overrides(self: C, overrides: list[str] | dict[str, Any]) -> C:
        """Apply ``a.b=value`` overrides (values parsed as YAML scalars) and re-validate."""
        data = self.to_dict()
        items = overrides.items() if isinstance(overrides, dict) else (_split_override(o) for o in overrides)
        for dotted, value in items:
            _set_dotted(data, dotted, value)
        return type(self).from_dict(data, "override")

    def fingerprint(self, exclude: set[str] | None = None) -> str:
        return fingerprint(self.model_dump(mode="json", exclude=exclude))


#: override values that mean "no value" (YAML already reads null, Null, NULL and ~ so)
NULL_WORDS = frozenset({"", "none", "null", "~"})


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where and what, without PyYAML's multi-line excerpt."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML at {where}{problem}"


def _split_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value")
    key, raw = item.split("=", 1)
    if raw.strip().lower() in NULL_WORDS:  # `output_dir=None` must not become a folder named None
        return key.strip(), None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        if raw.lstrip()[:1] in "[{":  # meant as a list or mapping: a plain string would fail later, obscurely
            raise ConfigError(
                f"override {key.strip()!r}: {_yaml_problem(exc)} (quote list items that contain "
                "'{', '}', '[', ']' or ',', e.g. ['student.contrastive={}'])"
            ) from None
        value = raw
    return key.strip(), value


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"override {dotted!r}: {part!r} is not a section")
        node = node[part]
    if parts[-1] not in node:
        known = ", ".join(sorted(node))
        raise ConfigError(f"override {dotted!r}: unknown key {parts[-1]!r} (known: {known})")
    node[parts[-1]] = value


def _format_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(problems)
