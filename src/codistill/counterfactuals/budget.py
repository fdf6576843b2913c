"""Spending limit: a hard cap, one per command.

Every API call first reserves its worst-case price (a safe upper bound on its prompt tokens plus
every allowed completion token); a call whose reservation does not fit under the cap is never
started. When the reply arrives the reservation is settled with the usage the server reports,
never more than ``max_tokens`` completion tokens. A reply without usage, and a request the
server may have received without answering (a timeout, a 200 that is not a chat completion),
settle at their reservation: the provider may bill them. A server that reports more prompt
tokens than the bound (a different tokenizer, hidden system prompts) raises the bound for later
calls (:attr:`Budget.scale`), and until the first call has settled only one call is in flight,
so concurrency cannot multiply an underestimate; that one reply is the only way spending can
pass the cap, and the ledger flags it (``over_reported``). A command that makes several runs (a
sweep, ``explain``) passes one :class:`Budget` to all of them.
"""

from __future__ import annotations

import threading

from codistill.errors import CodistillError, ConfigError

# USD per 1M tokens (input, output), public list prices; override in the config for others
KNOWN_PRICES = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}
#: tokens a chat request adds per message (role and separators) and per request
TOKENS_PER_MESSAGE = 8
TOKENS_PER_REQUEST = 16


class BudgetExceeded(CodistillError):
    """The next call would exceed the spending limit; the run stops cleanly."""


def known_prices(model: str) -> tuple[float, float] | None:
    return KNOWN_PRICES.get(model) or next((v for k, v in KNOWN_PRICES.items() if model.startswith(k + "-20")), None)


def prices_for(
    model: str, input_price: float | None, output_price: float | None, *, budget: float | None = None
) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens; ``None`` when unknown. With a budget an unknown price is
    an error: the cap could not be enforced."""
    known = known_prices(model)
    if input_price is not None and output_price is not None:
        return input_price, output_price
    if known is None:
        if budget is not None:
            raise ConfigError(
                f"no known price for model {model!r}, so --max-budget cannot be enforced; set "
                "openai.price_input_per_mtok and openai.price_output_per_mtok (USD per 1M tokens)"
            )
        return None
    return (known[0] if input_price is None else input_price, known[1] if output_price is None else output_price)


def prompt_token_bound(messages: list[dict[str, str]]) -> int:
    """An upper bound on a chat prompt's tokens: byte-level BPE tokenizers (OpenAI's, Llama's,
    Qwen's) never make more tokens than UTF-8 bytes, plus the per-message framing."""
    return sum(len(m["content"].encode("utf-8")) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_PER_REQUEST


class Budget:
    def __init__(self, limit_usd: float | None) -> None:
        self.limit = limit_usd
        self.spent = 0.0
        self.reserved = 0.0
        self.refused = 0
        self.scale = 1.0  # prompt tokens reported / bound, at worst, so far
        self.settled = 0
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + amount > self.limit + 1e-12:
                self.refused += 1
                return False
            self.reserved += amount
            return True

    def settle(self, reserved: float, actual: float, *, prompt_tokens: int = 0, prompt_bound: int = 0) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual
            self.settled += 1
            if prompt_bound and prompt_tokens > prompt_bound * self.scale:
                self.scale = prompt_tokens / prompt_bound

    def release(self, reserved: float) -> None:
        with self._lock:
            self.reserved -= reserved

    @property
    def calibrated(self) -> bool:
        """Whether a call has settled (before that, calls with a limit run one at a time)."""
        return self.limit is None or self.settled > 0

    def stop_message(self) -> str:
        return f"budget:exceeded the next call could cross the ${self.limit:.4f} budget"


def spending_lines(ledger: dict, limit: float | None, stopped: str | None) -> list[str]:
    """What the console says about a run's spending, from its ledger summary: never a claim the
    ledger contradicts (no "stopped before exceeding the budget" above the budget)."""
    cost = float(ledger.get("cost_usd", 0.0))
    lines = []
    if ledger.get("unmetered"):
        lines.append(
            f"note: {ledger['unmetered']} reply(ies) came without usage figures; each is counted at its worst case "
            "(every prompt token bound and max_tokens completion tokens)"
        )
    if ledger.get("over_reported"):
        lines.append(
            f"warning: {ledger['over_reported']} reply(ies) reported more tokens than their request could use (the ledger "
            "counts at most max_tokens completion tokens per reply, and the prompt tokens reported); check the endpoint's usage"
        )
    over = limit is not None and cost > limit + 1e-12
    if over:
        lines.append(
            f"warning: the ledger shows ${cost:.4f} spent, above the ${limit:.4f} budget: a server reported more prompt "
            "tokens than the prompts could hold (see run.json, ledger.over_reported)"
        )
    if stopped and not over:
        lines.append(
            f"stopped before exceeding the budget: spent ${cost:.4f} of ${limit or 0.0:.4f} (the next call could have "
            "crossed it); rerun with a larger --max-budget to resume"
        )
    elif stopped:
        lines.append("stopped: no further calls were made; rerun with a larger --max-budget to resume")
    return lines
