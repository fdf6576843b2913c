"""Which class a counterfactual should reach (``CounterfactualConfig.target``).

``runner_up`` (default): the teacher's second most likely class on the original; with
``per_original`` m > 1 the next most likely classes join it (m targets at most), so ``multi``
spreads its counterfactuals over them. ``every_other``: any class but the teacher's prediction.
``named``: the class ``target_class`` (an original the teacher already assigns to it gets none).
For two classes all three mean "the other class". A candidate is a verified counterfactual when
the teacher's argmax on it is one of its original's targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from codistill.errors import ConfigError

TargetMode = Literal["runner_up", "every_other", "named"]
TARGET_MODES: tuple[str, ...] = ("runner_up", "every_other", "named")


def named_target(label_names: Sequence[str], target_class: str | None) -> int:
    """The label id of ``target_class`` (a name, case-insensitive, or an id)."""
    if target_class is None:
        raise ConfigError("target=named needs target_class (a label name)")
    wanted = str(target_class).strip().lower()
    for i, name in enumerate(label_names):
        if wanted in (str(name).lower(), str(i)):
            return i
    raise ConfigError(f"target_class {target_class!r} is not a label of this task; labels: {', '.join(label_names)}")


def targets_for(
    probs: Sequence[float], mode: str, *, per_original: int = 1, named: int | None = None
) -> tuple[int, ...]:
    """The target classes of an original with teacher probabilities ``probs``, primary first
    (empty when ``named`` is the teacher's own prediction)."""
    p = np.asarray(probs, dtype=np.float64)
    label = int(p.argmax())
    others = [int(c) for c in np.argsort(-p, kind="stable") if int(c) != label]  # most likely first
    if mode == "runner_up":
        return tuple(others[: max(1, per_original)])
    if mode == "every_other":
        return tuple(others)
    if mode == "named":
        if named is None:
            raise ConfigError("target=named needs target_class (a label name)")
        return () if named == label else (named,)
    raise ConfigError(f"unknown target {mode!r}; known: {', '.join(TARGET_MODES)}")
