"""What a teacher directory records about how it reads text: one ``max_length`` per teacher.

The verifier, the saliency pass, the teacher-signal cache and evaluation all tokenize with this
length, so a counterfactual verified at generation time flips the same teacher at distillation
time. A teacher trained by ``codistill teacher`` records it in ``teacher_config.yaml``
(``train.max_length``); any other model reads :data:`DEFAULT_MAX_LENGTH` tokens. One explicit
override (``teacher_max_length`` in a config) replaces both.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MAX_LENGTH = 128
TEACHER_CONFIG_FILE = "teacher_config.yaml"


def recorded_max_length(teacher: str) -> int | None:
    """``train.max_length`` from the teacher directory's saved config, or None."""
    import yaml

    path = Path(str(teacher)).expanduser() / TEACHER_CONFIG_FILE
    if not path.is_file():
        return None
    try:
        value = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("train", {}).get("max_length")
    except (yaml.YAMLError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def teacher_max_length(teacher: str, override: int | None = None) -> int:
    """The tokens ``teacher`` reads: the override, else what it was trained with, else 128."""
    if override is not None:
        return int(override)
    return recorded_max_length(teacher) or DEFAULT_MAX_LENGTH


#: the DataConfig fields that decide which texts are carved from the pool for validation
CARVE_FIELDS = ("validation_size", "validation_max_fraction", "split_seed")


def recorded_carve(teacher: str) -> dict | None:
    """The task and validation-carve settings a ``codistill teacher`` directory was trained with
    (``data`` in ``teacher_config.yaml``), or None for any other model."""
    import yaml

    from codistill.data.config import DataConfig

    path = Path(str(teacher)).expanduser() / TEACHER_CONFIG_FILE
    try:
        data = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("data") if path.is_file() else None
    except (yaml.YAMLError, AttributeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    defaults = DataConfig().to_dict()
    return {"task": data.get("task", defaults["task"]), **{f: data.get(f, defaults[f]) for f in CARVE_FIELDS}}


def check_shared_carve(teacher: str, data) -> None:
    """Refuse a teacher whose training pool may hold texts of the students' validation split: one
    carve per task, shared by teacher and students (``data``: the students' DataConfig). A teacher
    without recorded settings (not made by ``codistill teacher``) is only warned about."""
    import logging

    from codistill.errors import ConfigError

    carve = recorded_carve(teacher)
    if carve is None:
        logging.getLogger(__name__).warning(
            "teacher %s records no validation carve: cannot check that the students' validation texts were not in its training data",
            teacher,
        )
        return
    if carve["task"] != data.task:
        return
    differ = [f for f in CARVE_FIELDS if carve[f] != getattr(data, f)]
    if differ:
        raise ConfigError(
            f"the teacher {teacher} carved validation with {', '.join(f'data.{f}={carve[f]}' for f in differ)} but the students with "
            f"{', '.join(f'data.{f}={getattr(data, f)}' for f in differ)}: students' validation texts would be in the teacher's training pool; "
            "use one carve for both"
        )
