"""One seed that makes a CPU run reproducible."""

from __future__ import annotations

import os
import random

from codistill.errors import ConfigError

#: seeds are 0 .. 2**32 - 1 (NumPy's range; torch and Python accept all of it)
MAX_SEED = 2**32 - 1


def seed_problem(seed: object, what: str = "seed") -> str | None:
    """Why ``seed`` is not a usable seed (None: it is)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        return f"{what} must be an integer from 0 to {MAX_SEED}, not {seed!r}"
    return None


def check_seed(seed: object, what: str = "seed") -> int:
    """``seed``, or a one-line :class:`ConfigError` for a negative, huge or non-integer one."""
    if problem := seed_problem(seed, what):
        raise ConfigError(problem)
    return seed  # type: ignore[return-value]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (if importable) from one integer."""
    check_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass
