"""The editor search's bookkeeping: a candidate (a set of single edits with its prior and
fluency) and the state of one input across rounds (its tokens, the proposals not yet tried, every
candidate the teacher scored, saliency, whether it is done)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codistill.counterfactuals.generators.base import Request
from codistill.counterfactuals.text import Edit, Token, apply_edits


@dataclass
class Cand:
    edits: tuple[Edit, ...]
    prior: float
    fluency: float
    ops: tuple[str, ...]
    focus: int  # token index the edit is about (for saliency)

    @property
    def cost(self) -> int:
        return sum(e.cost for e in self.edits)


@dataclass
class State:
    request: Request
    tokens: list[Token]
    lower: list[str]
    sign: int  # +1 when the teacher says label 1 (positive/acceptable)
    singles: list[Cand] = field(default_factory=list)
    tried: dict[str, tuple[Cand, np.ndarray]] = field(default_factory=dict)  # text -> (cand, probs)
    measured: list[tuple[float, Cand]] = field(default_factory=list)  # (gain, cand) of non-flipping candidates
    next_single: int = 0
    rounds: int = 0
    saliency: np.ndarray | None = None
    done: bool = False
    visible: int = 10**9  # word tokens the teacher reads (long inputs may be truncated)
    long: bool = False
    widened: bool = False  # the first rounds ran out of edits: every content word gets edits
    exact: set[str] = field(default_factory=set)  # flips the exact teacher confirmed (screening verifiers)

    def flips(self) -> list[tuple[str, list[float], int]]:
        """The tried candidates that flip the teacher, as ``(text, probs, label)``."""
        reached = self.request.reached
        return [
            (t, [float(x) for x in p], int(p.argmax())) for t, (_, p) in self.tried.items() if reached(int(p.argmax()))
        ]

    @property
    def target(self) -> int:
        return self.request.target_label

    @property
    def p0(self) -> float:
        return self.request.teacher_probs[self.target]

    def text_of(self, cand: Cand) -> str:
        return apply_edits(self.request.example.text, self.tokens, cand.edits)
