"""``codistill teacher``: fine-tune, select on validation, report test, cache."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
