"""Where codistill keeps its caches (teachers, teacher signals, counterfactuals)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """``$CODISTILL_HOME``, else ``$XDG_CACHE_HOME/codistill``, else ``~/.cache/codistill``."""
    if env := os.environ.get("CODISTILL_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "codistill"
