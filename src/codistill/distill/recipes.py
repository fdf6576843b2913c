"""Named loss recipes: the paper's three baselines and plain fine-tuning.

``+cod`` is a data choice (``cod: true`` plus a counterfactual file), not a loss, so every
recipe runs with and without counterfactuals.
"""

from __future__ import annotations

from typing import Any

from codistill.errors import ConfigError

RECIPES: dict[str, list[dict[str, Any]]] = {
    # Hinton KD as in the CoD code: 20 * T^2 * KL(t || s) at T = 2, plus cross-entropy
    "kd": [{"name": "ce", "weight": 1.0}, {"name": "kd", "weight": 20.0, "temperature": 2.0}],
    # layer-wise distillation: KD plus MSE between mapped (projected) hidden states
    "lwd": [
        {"name": "ce", "weight": 1.0},
        {"name": "kd", "weight": 20.0, "temperature": 2.0},
        {"name": "hidden", "weight": 1.0},
    ],
    # TED: KD plus matching of task-aware filter outputs (filters learned in stage 1)
    "ted": [
        {"name": "ce", "weight": 1.0},
        {"name": "kd", "weight": 20.0, "temperature": 2.0},
        {"name": "ted", "weight": 1.0},
    ],
    # no teacher at all: fine-tune the student on the labels
    "ce": [{"name": "ce", "weight": 1.0}],
}


def recipe_losses(name: str) -> list[dict[str, Any]]:
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return [dict(spec) for spec in RECIPES[name]]
