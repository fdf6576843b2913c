"""Per-task prompt templates, stored as files and versioned by their content hash.

A template has ``[system]``, ``[user]`` and ``[feedback]`` sections with ``$placeholders``
(``string.Template``, so braces in user text are harmless). The hash of the file is part of every
LLM cache key: editing a prompt never serves stale replies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from codistill.errors import ConfigError

PROMPT_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    sections: dict[str, str]
    hash: str

    @classmethod
    def load(cls, path: str | Path) -> PromptTemplate:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"prompt template not found: {path}")
        text = path.read_text(encoding="utf-8")
        sections: dict[str, list[str]] = {}
        current = None
        for line in text.splitlines():
            m = re.fullmatch(r"\[(system|user|feedback)\]\s*", line)
            if m:
                current = m.group(1)
                sections[current] = []
            elif current and not line.startswith("#"):
                sections[current].append(line)
        missing = {"system", "user"} - set(sections)
        if missing:
            raise ConfigError(f"{path}: prompt template lacks section(s) {', '.join(sorted(missing))}")
        return cls(
            path.stem,
            {k: "\n".join(v).strip() for k, v in sections.items()},
            hashlib.sha256(text.encode()).hexdigest()[:12],
        )

    def render(self, section: str, **values: Any) -> str:
        return Template(self.sections.get(section, "")).safe_substitute({k: str(v) for k, v in values.items()})


def template_for(task) -> PromptTemplate:
    """The packaged template of a task: sentiment, acceptability, or the generic default."""
    from codistill.data.tasks import task_kind

    kind = task_kind(task)
    return PromptTemplate.load(PROMPT_DIR / f"{'default' if kind == 'generic' else kind}.txt")


def build_messages(
    template: PromptTemplate, task, text: str, source: int, feedback: list[dict[str, Any]], target: int | None = None
) -> list[dict[str, str]]:
    """Chat messages for one attempt: the worked example and the input, then one corrective turn
    per earlier candidate the teacher did not flip (what it still predicts, with probability).
    The prompt names the source and target classes and lists every label name of the task
    (``target`` default: the other class of a two-class task)."""
    names = task.label_names
    if target is None:
        if len(names) != 2:
            raise ValueError(f"a task with {len(names)} classes needs the target class of each counterfactual")
        target = 1 - source
    values = dict(
        text=text,
        text_noun=getattr(task, "text_noun", "text"),
        source_label=names[source],
        target_label=names[target],
        label_names=", ".join(names),
    )
    messages = [
        {"role": "system", "content": template.render("system", **values)},
        {"role": "user", "content": template.render("user", **values)},
    ]
    for fb in feedback:
        messages.append({"role": "assistant", "content": fb["text"]})
        messages.append(
            {
                "role": "user",
                "content": template.render(
                    "feedback",
                    **values,
                    previous=fb["text"],
                    previous_label=names[fb["label"]],
                    previous_prob=f"{fb['prob']:.2f}",
                ),
            }
        )
    return messages
