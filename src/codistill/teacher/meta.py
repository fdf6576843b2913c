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
