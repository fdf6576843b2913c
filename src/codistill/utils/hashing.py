"""Stable content fingerprints used as cache keys."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, so equal values hash equally."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 prefix of the canonical JSON of ``obj``."""
    return hashlib.sha256(stable_json(obj).encode("utf-8")).hexdigest()[:length]


class StreamingHash:
    """Incremental SHA-256 over many small records (e.g. every example of a split)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, *parts: Any) -> None:
        for part in parts:
            self._h.update(str(part).encode("utf-8"))
            self._h.update(b"\x1f")
        self._h.update(b"\x1e")

    def hexdigest(self, length: int = 16) -> str:
        return self._h.hexdigest()[:length]
