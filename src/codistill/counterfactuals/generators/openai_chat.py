"""``openai``: any OpenAI-compatible chat endpoint through the official ``openai`` client.

Requests run concurrently (``asyncio`` with a semaphore), each reply is cached the moment it
arrives, and 429 / 5xx / timeouts / connection errors are retried with exponential backoff and
jitter (a server's ``Retry-After`` wins). The client's own retries are switched off so every
attempt is visible in the ledger and the budget. A reply settles at the usage it reports, at
most ``max_tokens`` completion tokens (more is flagged ``over_reported``); a reply without usage,
a timeout and a 200 that is not a chat completion settle at their reservation (the worst case).
Only chat completions are cached. The key comes from the environment only.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Sequence
from typing import Any

from codistill.counterfactuals.budget import Budget, prices_for, prompt_token_bound
from codistill.counterfactuals.cache import Cache, Ledger
from codistill.counterfactuals.generators.base import Generator, Proposal, Request, register_generator
from codistill.counterfactuals.prompts import build_messages, template_for
from codistill.errors import ConfigError
from codistill.utils.hashing import fingerprint
from codistill.utils.secrets import carries_secret, redact, register_secret

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 520, 522, 524}
DEFAULT_ENDPOINT = "https://api.openai.com/v1"
#: reason of a request that failed only transiently (never cached as a final outcome)
TRANSIENT = "api:gave_up"


@register_generator("openai")
class OpenAIGenerator(Generator):
    uses_api = True

    def __init__(self, config, task) -> None:
        super().__init__(config, task)
        self.ocfg = config.openai
        self.template = template_for(task)
        self.cache: Cache | None = None
        self.ledger = Ledger(None)
        self.budget = Budget(config.max_budget_usd)
        prices = prices_for(
            self.ocfg.model,
            self.ocfg.price_input_per_mtok,
            self.ocfg.price_output_per_mtok,
            budget=config.max_budget_usd,
        )
        self.notes: list[str] = []
        if prices is None:
            self.notes.append(
                f"warning: no known price for model {self.ocfg.model!r}; costs are shown as $0 "
                "(set openai.price_input_per_mtok / price_output_per_mtok)"
            )
        self.price_in, self.price_out = prices or (0.0, 0.0)
        self.api_key = os.environ.get(self.ocfg.api_key_env)
        register_secret(self.api_key)
        base_url = self.ocfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not self.api_key:
            if base_url is None:
                raise ConfigError(
                    f"generator openai needs an API key in ${self.ocfg.api_key_env} (or openai.base_url for a local server)"
                )
            self.api_key = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) ignore it
        self.base_url = base_url
        self._identity: dict[str, Any] | None = None

    def attach(self, cache: Cache | None, ledger: Ledger, budget: Budget) -> None:
        self.cache, self.ledger, self.budget = cache, ledger, budget

    def identity(self) -> dict[str, Any]:
        # the endpoint and the model it actually serves are part of the identity: another server,
        # or the same address now serving another checkpoint, must not answer from this cache
        if self._identity is None:
            o = self.ocfg
            endpoint = (self.base_url or DEFAULT_ENDPOINT).rstrip("/")
            served, where = self._served_model(), fingerprint({"endpoint": endpoint, "model": o.model}, length=32)
            if self.cache is not None:  # an endpoint that cannot list models now: the last answer it gave
                if served is None:
                    served = self.cache.get("meta", where)
                else:
                    self.cache.put("meta", where, served)
            self._identity = {
                "generator": self.name,
                "model": o.model,
                "endpoint": endpoint,
                "served": served,
                "prompt": self.template.hash,
                "temperature": o.temperature,
                "max_tokens": o.max_tokens,
                "num_candidates": o.num_candidates,
                "seed": o.seed,
            }
        return self._identity

    def _served_model(self) -> Any:
        """What the endpoint's model list says about the model (vLLM names the checkpoint in
        ``root``); ``None`` if the endpoint does not list models."""
        try:
            from openai import OpenAI

            client = OpenAI(
                api_key=self.api_key, base_url=self.base_url, timeout=min(5.0, self.ocfg.timeout_s), max_retries=0
            )
            try:
                for entry in client.models.list().data:
                    if entry.id == self.ocfg.model:
                        extra = {k: v for k, v in (entry.model_extra or {}).items() if k in ("root", "parent")}
                        return {"id": entry.id, **extra}
                return {"id": None}
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - an endpoint without /models (or unreachable) just adds nothing
            return None

    def propose(self, requests: Sequence[Request], attempt: int) -> list[list[Proposal]]:
        return asyncio.run(self._propose(requests, attempt))

    async def _propose(self, requests: Sequence[Request], attempt: int) -> list[list[Proposal]]:
        try:
            from openai import AsyncOpenAI
        except ImportError:  # pragma: no cover - openai is a dependency
            raise ConfigError("generator openai needs the openai package: pip install openai") from None
        jobs = []
        for req in requests:
            messages = build_messages(
                self.template, self.task, req.example.text, req.teacher_label, req.feedback, req.target_label
            )
            for j in range(self.ocfg.num_candidates):
                jobs.append(
                    (
                        messages,
                        fingerprint(
                            {**self.identity(), "messages": messages, "candidate": j, "attempt": attempt}, length=32
                        ),
                    )
                )
        results = await self._gather(AsyncOpenAI, jobs)
        n = self.ocfg.num_candidates
        return [list(results[i * n : (i + 1) * n]) for i in range(len(requests))]

    async def _gather(self, client_cls, jobs: list[tuple[list[dict[str, str]], str]]) -> list[Proposal]:
        client = client_cls(api_key=self.api_key, base_url=self.base_url, timeout=self.ocfg.timeout_s, max_retries=0)
        sem = asyncio.Semaphore(self.ocfg.concurrency)
        probe = asyncio.Lock()  # one call at a time until the budget has seen a real usage figure
        try:
            return list(
                await asyncio.gather(*(self._call(client, sem, probe, messages, key) for messages, key in jobs))
            )
        finally:
            await client.close()

    def chat(self, conversations: Sequence[list[dict[str, str]]], purpose: str) -> list[Proposal]:
        """One reply per conversation (any prompt, e.g. a rationale), through the same cache,
        ledger, budget and retries as counterfactual proposals; ``purpose`` separates cache keys."""
        from openai import AsyncOpenAI

        jobs = [
            (m, fingerprint({**self.identity(), "messages": m, "purpose": purpose}, length=32)) for m in conversations
        ]
        return asyncio.run(self._gather(AsyncOpenAI, jobs))

    def _estimate(self, messages: list[dict[str, str]]) -> tuple[float, int]:
        """(worst-case USD, prompt-token bound) of one call: the bound (scaled up if the server
        ever reported more) and every allowed completion token."""
        bound = prompt_token_bound(messages)
        return (bound * self.budget.scale * self.price_in + self.ocfg.max_tokens * self.price_out) / 1e6, bound

    async def _call(
        self, client, sem: asyncio.Semaphore, probe: asyncio.Lock, messages: list[dict[str, str]], key: str
    ) -> Proposal:
        o = self.ocfg
        if self.cache is not None:
            hit = self.cache.get("responses", key)
            if hit is not None:
                self.ledger.record(generator=self.name, model=o.model, key=key, status="cached")
                return Proposal(hit["raw"], 0.0, meta={"cached": True})
        last, spent = "no attempt", 0.0  # spent: failed tries the provider may bill (timeouts, bad bodies)
        async with sem:
            for retry in range(o.max_retries + 1):
                if self.budget.calibrated:
                    outcome = await self._attempt(client, messages, key)
                else:
                    async with probe:
                        outcome = await self._attempt(client, messages, key)
                if isinstance(outcome, Proposal):
                    outcome.cost_usd += spent
                    return outcome
                last, delay, cost = outcome
                spent += cost
                status = f"retry:{last}" if retry < o.max_retries else f"failed:{last}"
                self.ledger.record(generator=self.name, model=o.model, key=key, status=status, cost_usd=cost)
                if retry < o.max_retries:
                    backoff = min(o.max_backoff_s, o.backoff_s * 2**retry) * (0.5 + random.random() / 2)
                    await asyncio.sleep(min(o.max_backoff_s, delay) if delay is not None else backoff)
        return Proposal("", spent, error=f"{TRANSIENT} after {o.max_retries + 1} tries ({last})")

    async def _attempt(
        self, client, messages: list[dict[str, str]], key: str
    ) -> Proposal | tuple[str, float | None, float]:
        """One request: a final :class:`Proposal`, or ``(why, retry delay, cost)`` for a transient
        failure. A request the server may have received and billed (a timeout, a lost connection,
        a 200 that is not a chat completion) costs its reservation: the worst case."""
        import openai

        o = self.ocfg
        reserve, bound = self._estimate(messages)
        if not self.budget.reserve(reserve):
            return Proposal("", error=self.budget.stop_message())
        started = time.monotonic()
        try:
            kwargs: dict[str, Any] = {
                "model": o.model,
                "messages": messages,
                "temperature": o.temperature,
                "max_tokens": o.max_tokens,
            }
            if o.seed is not None:
                kwargs["seed"] = o.seed
            resp = await client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            self.budget.release(reserve)  # an error status is not a completion: not billed
            if exc.status_code not in RETRYABLE_STATUS:
                self.ledger.record(generator=self.name, model=o.model, key=key, status=f"error:{exc.status_code}")
                return Proposal("", error=f"api:http_{exc.status_code} {_first_line(exc)}")
            return f"HTTP {exc.status_code}", _retry_after(exc), 0.0
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            why = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
            if not _may_have_been_received(exc):
                self.budget.release(reserve)
                return why, None, 0.0
            self.budget.settle(reserve, reserve)
            return why, None, reserve
        except (openai.APIResponseValidationError, ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            self.budget.settle(
                reserve, reserve
            )  # a 200 whose body is not JSON (garbage from a proxy or a broken server)
            return f"bad response ({type(exc).__name__})", None, reserve
        raw = _reply_text(resp)
        if raw is None:  # a 200 whose JSON is not a chat completion: never cached, retried
            self.budget.settle(reserve, reserve)
            return "bad response (not a chat completion)", None, reserve
        pt, ct, status = _usage(resp, o.max_tokens, bound * self.budget.scale)
        if status == "ok:unmetered":  # no usage figure: the worst case, never $0
            cost = reserve
            self.budget.settle(reserve, cost)
        else:  # never more completion tokens than max_tokens allows, whatever the server says (flagged)
            cost = (pt * self.price_in + min(ct, o.max_tokens) * self.price_out) / 1e6
            self.budget.settle(reserve, cost, prompt_tokens=pt, prompt_bound=bound)
        served = getattr(resp, "model", None)
        if self.cache is not None and not carries_secret(raw):  # an echoed key is the endpoint's fault, not a reply
            self.cache.put(
                "responses",
                key,
                {
                    "raw": raw,
                    "prompt_tokens": pt,
                    "completion_tokens": ct,
                    "cost_usd": cost,
                    "model": o.model,
                    "served_model": served,
                },
            )
        self.ledger.record(
            generator=self.name,
            model=o.model,
            key=key,
            status=status,
            prompt_tokens=pt,
            completion_tokens=ct,
            cost_usd=cost,
            latency_s=time.monotonic() - started,
        )
        return Proposal(raw, cost)


def _reply_text(resp: Any) -> str | None:
    """The text of a chat completion (a refusal reads as ""), or ``None`` for a body that is not one."""
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        return None
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    return "" if content is None and isinstance(getattr(message, "refusal", None), str) else None


def _usage(resp: Any, max_tokens: int, prompt_bound: float) -> tuple[int, int, str]:
    """(prompt tokens, completion tokens, ledger status): ``ok``, ``ok:unmetered`` (no usable
    usage: a prompt is never 0 tokens) or ``ok:over_reported`` (more tokens than the request
    could use: completion tokens above ``max_tokens``, prompt tokens above the budget's bound)."""
    usage = getattr(resp, "usage", None)

    def count(name: str) -> int:
        value = getattr(usage, name, None)
        return int(value) if isinstance(value, (int, float)) and value >= 0 else 0

    pt, ct = count("prompt_tokens"), count("completion_tokens")
    if pt <= 0:
        return 0, 0, "ok:unmetered"
    return pt, ct, "ok:over_reported" if ct > max_tokens or pt > prompt_bound else "ok"


#: transport errors raised before a request left this machine (httpx's names, whichever httpx the client uses)
NOT_SENT = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "PoolTimeout",
        "UnsupportedProtocol",
        "InvalidURL",
        "LocalProtocolError",
        "ProxyError",
        "SSLError",
        "SSLCertVerificationError",
    }
)


def _may_have_been_received(exc: Exception) -> bool:
    """Whether a request that failed in transit may have reached the server (and be billed): all
    but a failure to connect or to build the request; an unknown cause counts as received."""
    return type(exc.__cause__).__name__ not in NOT_SENT


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, ValueError, TypeError):
        return None


def _first_line(exc: Exception) -> str:
    text = redact(str(exc))  # error bodies may echo the key
    return text.splitlines()[0][:200] if text else type(exc).__name__
