"""``openai``: any OpenAI-compatible chat endpoint through the official ``openai`` client.

Requests run concurrently (``asyncio`` with a semaphore), each reply is cached the moment it
arrives, and 429 / 5xx / timeouts / connection errors are retried with exponential backoff and
jitter (a server's ``Retry-After`` wins). The client's own retries are switched off so every
attempt is visible in the ledger and the budget. The key comes from the environment only.
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
from codistill.utils.secrets import redact, register_secret

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
        prices = prices_for(self.ocfg.model, self.ocfg.price_input_per_mtok, self.ocfg.price_output_per_mtok, budget=config.max_budget_usd)
        self.notes: list[str] = []
        if prices is None:
            self.notes.append(f"warning: no known price for model {self.ocfg.model!r}; costs are shown as $0 "
                              "(set openai.price_input_per_mtok / price_output_per_mtok)")
        self.price_in, self.price_out = prices or (0.0, 0.0)
        self.api_key = os.environ.get(self.ocfg.api_key_env)
        register_secret(self.api_key)
        base_url = self.ocfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not self.api_key:
            if base_url is None:
                raise ConfigError(f"generator openai needs an API key in ${self.ocfg.api_key_env} (or openai.base_url for a local server)")
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
            self._identity = {"generator": self.name, "model": o.model, "endpoint": endpoint,
                              "served": served, "prompt": self.template.hash, "temperature": o.temperature,
                              "max_tokens": o.max_tokens, "num_candidates": o.num_candidates, "seed": o.seed}
        return self._identity

    def _served_model(self) -> Any:
        """What the endpoint's model list says about the model (vLLM names the checkpoint in
        ``root``); ``None`` if the endpoint does not list models."""
        try:
            from openai import OpenAI

            client = OpenAI(api_key=self.api_key, base_url=self.base_url, timeout=min(5.0, self.ocfg.timeout_s), max_retries=0)
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
            messages = build_messages(self.template, self.task, req.example.text, req.teacher_label, req.feedback, req.target_label)
            for j in range(self.ocfg.num_candidates):
                jobs.append((messages, fingerprint({**self.identity(), "messages": messages, "candidate": j, "attempt": attempt}, length=32)))
        results = await self._gather(AsyncOpenAI, jobs)
        n = self.ocfg.num_candidates
        return [list(results[i * n : (i + 1) * n]) for i in range(len(requests))]

    async def _gather(self, client_cls, jobs: list[tuple[list[dict[str, str]], str]]) -> list[Proposal]:
        client = client_cls(api_key=self.api_key, base_url=self.base_url, timeout=self.ocfg.timeout_s, max_retries=0)
        sem = asyncio.Semaphore(self.ocfg.concurrency)
        probe = asyncio.Lock()  # one call at a time until the budget has seen a real usage figure
        try:
            return list(await asyncio.gather(*(self._call(client, sem, probe, messages, key) for messages, key in jobs)))
        finally:
            await client.close()

    def chat(self, conversations: Sequence[list[dict[str, str]]], purpose: str) -> list[Proposal]:
        """One reply per conversation (any prompt, e.g. a rationale), through the same cache,
        ledger, budget and retries as counterfactual proposals; ``purpose`` separates cache keys."""
        from openai import AsyncOpenAI

        jobs = [(m, fingerprint({**self.identity(), "messages": m, "purpose": purpose}, length=32)) for m in conversations]
        return asyncio.run(self._gather(AsyncOpenAI, jobs))

    def _estimate(self, messages: list[dict[str, str]]) -> tuple[float, int]:
        """(worst-case USD, prompt-token bound) of one call: the bound (scaled up if the server
        ever reported more) and every allowed completion token."""
        bound = prompt_token_bound(messages)
        return (bound * self.budget.scale * self.price_in + self.ocfg.max_tokens * self.price_out) / 1e6, bound

    async def _call(self, client, sem: asyncio.Semaphore, probe: asyncio.Lock, messages: list[dict[str, str]], key: str) -> Proposal:
        o = self.ocfg
        if self.cache is not None:
            hit = self.cache.get("responses", key)
            if hit is not None:
                self.ledger.record(generator=self.name, model=o.model, key=key, status="cached")
                return Proposal(hit["raw"], 0.0, meta={"cached": True})
        last = "no attempt"
        async with sem:
            for retry in range(o.max_retries + 1):
                if self.budget.calibrated:
                    outcome = await self._attempt(client, messages, key)
                else:
                    async with probe:
                        outcome = await self._attempt(client, messages, key)
                if isinstance(outcome, Proposal):
                    return outcome
                last, delay = outcome
                status = f"retry:{last}" if retry < o.max_retries else f"failed:{last}"
                self.ledger.record(generator=self.name, model=o.model, key=key, status=status)
                if retry < o.max_retries:
                    backoff = min(o.max_backoff_s, o.backoff_s * 2**retry) * (0.5 + random.random() / 2)
                    await asyncio.sleep(min(o.max_backoff_s, delay) if delay is not None else backoff)
        return Proposal("", error=f"{TRANSIENT} after {o.max_retries + 1} tries ({last})")

    async def _attempt(self, client, messages: list[dict[str, str]], key: str) -> Proposal | tuple[str, float | None]:
        """One request: a final :class:`Proposal`, or ``(why, retry delay)`` for a transient failure."""
        import openai

        o = self.ocfg
        reserve, bound = self._estimate(messages)
        if not self.budget.reserve(reserve):
            return Proposal("", error=self.budget.stop_message())
        started = time.monotonic()
        try:
            kwargs: dict[str, Any] = {"model": o.model, "messages": messages, "temperature": o.temperature, "max_tokens": o.max_tokens}
            if o.seed is not None:
                kwargs["seed"] = o.seed
            resp = await client.chat.completions.create(**kwargs)
            raw = (resp.choices[0].message.content or "") if resp.choices else ""
            usage = getattr(resp, "usage", None)
            pt = int(getattr(usage, "prompt_tokens", 0) or 0)
            ct = int(getattr(usage, "completion_tokens", 0) or 0)
        except openai.APIStatusError as exc:
            self.budget.release(reserve)
            if exc.status_code not in RETRYABLE_STATUS:
                self.ledger.record(generator=self.name, model=o.model, key=key, status=f"error:{exc.status_code}")
                return Proposal("", error=f"api:http_{exc.status_code} {_first_line(exc)}")
            return f"HTTP {exc.status_code}", _retry_after(exc)
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            self.budget.release(reserve)
            return ("timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"), None
        except (openai.APIResponseValidationError, ValueError, KeyError, IndexError, AttributeError) as exc:
            # a 200 whose body is not a chat completion (garbage from a proxy or a broken server)
            self.budget.release(reserve)
            return f"bad response ({type(exc).__name__})", None
        cost = (pt * self.price_in + ct * self.price_out) / 1e6
        self.budget.settle(reserve, cost, prompt_tokens=pt, prompt_bound=bound)
        served = getattr(resp, "model", None)
        if self.cache is not None:
            self.cache.put("responses", key, {"raw": raw, "prompt_tokens": pt, "completion_tokens": ct, "cost_usd": cost,
                                              "model": o.model, "served_model": served})
        self.ledger.record(generator=self.name, model=o.model, key=key, status="ok", prompt_tokens=pt,
                           completion_tokens=ct, cost_usd=cost, latency_s=time.monotonic() - started)
        return Proposal(raw, cost)


def _retry_after(exc: Any) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, ValueError, TypeError):
        return None


def _first_line(exc: Exception) -> str:
    text = redact(str(exc))  # error bodies may echo the key
    return text.splitlines()[0][:200] if text else type(exc).__name__
