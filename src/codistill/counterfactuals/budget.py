"""Spending limit: every API call reserves its worst-case price first, so concurrent calls can
never push the run past ``--max-budget``; the reservation is settled with the real usage."""

from __future__ import annotations

import threading

from codistill.errors import CodistillError

# USD per 1M tokens (input, output), public list prices; override in the config for others
KNOWN_PRICES = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


class BudgetExceeded(CodistillError):
    """The next call would exceed the spending limit; the run stops cleanly."""


def prices_for(model: str, input_price: float | None, output_price: float | None) -> tuple[float, float]:
    known = KNOWN_PRICES.get(model) or next((v for k, v in KNOWN_PRICES.items() if model.startswith(k + "-20")), (0.0, 0.0))
    return (known[0] if input_price is None else input_price, known[1] if output_price is None else output_price)


class Budget:
    def __init__(self, limit_usd: float | None) -> None:
        self.limit = limit_usd
        self.spent = 0.0
        self.reserved = 0.0
        self.refused = 0
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + amount > self.limit + 1e-12:
                self.refused += 1
                return False
            self.reserved += amount
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual

    def release(self, reserved: float) -> None:
        self.settle(reserved, 0.0)
