"""What a generator is asked and what it answers: a :class:`Request` per original in; per
attempt a :class:`Proposal`; per original an :class:`Outcome` out, holding the :class:`Chosen`
verified counterfactual (or none) and every :class:`Failure` with its reason. Outcomes are what
the pipeline caches (``to_dict`` / ``from_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codistill.data import Example


def is_fact(reason: str) -> bool:
    """Whether a failure is a fact about the input text (a parsed reply, the teacher's verdict),
    which a cached outcome may keep. Failures of the endpoint (an outage, a rate limit, a 401, a
    200 that is not a chat completion, a reply echoing the key) and budget stops say nothing about
    the text: an outcome with one is never cached, so a rerun after the fix calls again."""
    return not reason.startswith(("api:", "budget:")) and reason != "parse:secret"


@dataclass
class Request:
    """One original to flip. ``feedback`` holds earlier failed candidates with the teacher's
    probabilities on them, for generators that can use it (LLMs are told about them)."""

    example: Example
    teacher_label: int
    teacher_probs: list[float]
    feedback: list[dict[str, Any]] = field(default_factory=list)
    targets: tuple[int, ...] | None = (
        None  # classes a counterfactual may reach, primary first (see counterfactuals.targets)
    )

    def __post_init__(self) -> None:
        if self.targets is None:  # the runner-up class (for two classes: the other one)
            from codistill.counterfactuals.targets import targets_for

            self.targets = targets_for(self.teacher_probs, "runner_up")

    @property
    def target_classes(self) -> tuple[int, ...]:
        """``targets`` as set (``__post_init__`` fills in the default)."""
        assert self.targets is not None
        return self.targets

    @property
    def target_label(self) -> int:
        """The primary target: the class the search moves the teacher towards."""
        return self.target_classes[0]

    def reached(self, label: int) -> bool:
        """Whether a candidate the teacher assigns to ``label`` is a verified counterfactual."""
        return label in self.target_classes and label != self.teacher_label


@dataclass
class Proposal:
    """A generator's answer for one request: the raw reply (for LLMs) and what it cost."""

    raw: str
    cost_usd: float = 0.0
    error: str | None = None  # an API error, a budget stop, ...
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    original_id: str
    attempt: int
    reason: str  # short machine-readable code: parse:empty, teacher:no_flip, api:error, ...
    detail: str = ""
    candidate: str | None = None
    teacher_probs: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Chosen:
    text: str
    probs: list[float]
    label: int
    edited_words: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    original_id: str
    chosen: Chosen | None
    attempts: int
    cost_usd: float
    failures: list[Failure]
    candidates_checked: int = 0
    valid_candidates: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    alternatives: list[Chosen] = field(default_factory=list)  # further diverse flips (per_original > 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        d = dict(d)
        d["chosen"] = Chosen(**d["chosen"]) if d.get("chosen") else None
        d["failures"] = [Failure(**f) for f in d.get("failures", [])]
        d["alternatives"] = [Chosen(**c) for c in d.get("alternatives", [])]
        return cls(**d)
