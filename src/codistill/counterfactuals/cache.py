"""Content-addressed SQLite cache and the cost ledger.

Two tables of cached values, both keyed by a fingerprint of everything that determines them:

* ``responses`` -- raw LLM replies, keyed by (generator, model, prompt hash, parameters, the exact
  messages, candidate index). Each reply is committed the moment it arrives, so a run killed
  mid-way never pays for it again.
* ``outcomes`` -- the final per-input result (chosen counterfactual, teacher probabilities,
  failures), keyed by (generator identity, teacher fingerprint, selection rule, input text). A
  rerun, a larger k with the same seed, or a resumed run loads these and never touches the
  teacher or the API for them.

``calls`` is the ledger: one row per API call (or retry) with tokens, dollars and status, per run.
A reply's status is ``ok``, ``ok:unmetered`` (no usage reported: charged its worst case) or
``ok:over_reported`` (more tokens reported than the request could use); a failed try that may
have been billed (a timeout) carries its worst-case cost too.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from codistill.utils.locks import open_sqlite
from codistill.utils.paths import cache_home
from codistill.utils.secrets import redact_obj

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started REAL, finished REAL, config TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, ts REAL, generator TEXT, model TEXT, key TEXT,
    status TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd REAL, latency_s REAL
);
CREATE INDEX IF NOT EXISTS calls_run ON calls(run_id);
"""


def default_cache_dir() -> Path:
    return cache_home() / "counterfactuals"


class Cache:
    def __init__(self, directory: str | Path | None = None) -> None:
        self.path = Path(directory or default_cache_dir()) / "cache.sqlite"
        self._lock = threading.Lock()
        # autocommit: every write is durable at once (crash-and-resume must not lose paid calls)
        self._db = open_sqlite(self.path, SCHEMA, timeout=30, autocommit=True, pragmas=("synchronous=NORMAL",))
        self.hits = {"responses": 0, "outcomes": 0, "meta": 0}
        self.misses = {"responses": 0, "outcomes": 0, "meta": 0}

    def get(self, table: str, key: str) -> Any | None:
        assert table in ("responses", "outcomes", "meta")
        with self._lock:
            row = self._db.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses[table] += 1
            return None
        self.hits[table] += 1
        return json.loads(row[0])

    def put(self, table: str, key: str, value: Any) -> None:
        assert table in ("responses", "outcomes", "meta")
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} (key, value, created) VALUES (?, ?, ?)",
                (key, json.dumps(redact_obj(value), ensure_ascii=False), time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Ledger:
    """Calls, tokens and estimated dollars of one run (stored in the cache database)."""

    def __init__(self, cache: Cache | None, config: dict[str, Any] | None = None) -> None:
        self.cache = cache
        self.run_id = uuid.uuid4().hex[:12]
        self.totals = {
            "calls": 0,
            "ok": 0,
            "retried": 0,
            "failed": 0,
            "cached": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "unmetered": 0,
            "over_reported": 0,
        }
        self._lock = threading.Lock()
        if cache is not None:
            with cache._lock:
                cache._db.execute(
                    "INSERT INTO runs (run_id, started, config) VALUES (?, ?, ?)",
                    (self.run_id, time.time(), json.dumps(redact_obj(config or {}))),
                )

    def record(
        self,
        *,
        generator: str,
        model: str,
        key: str,
        status: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float = 0.0,
        latency_s: float = 0.0,
    ) -> None:
        with self._lock:
            t = self.totals
            if status == "cached":
                t["cached"] += 1
            else:
                t["calls"] += 1
                ok = status == "ok" or status.startswith("ok:")
                t["ok" if ok else "retried" if status.startswith("retry") else "failed"] += 1
                if status in ("ok:unmetered", "ok:over_reported"):
                    t[status[3:]] += 1
            t["prompt_tokens"] += prompt_tokens
            t["completion_tokens"] += completion_tokens
            t["cost_usd"] += cost_usd
        if self.cache is not None and status != "cached":
            with self.cache._lock:
                self.cache._db.execute(
                    "INSERT INTO calls (run_id, ts, generator, model, key, status, prompt_tokens, completion_tokens, cost_usd, latency_s)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.run_id,
                        time.time(),
                        generator,
                        model,
                        key,
                        status,
                        prompt_tokens,
                        completion_tokens,
                        cost_usd,
                        latency_s,
                    ),
                )

    def finish(self, summary: dict[str, Any]) -> None:
        if self.cache is not None:
            with self.cache._lock:
                self.cache._db.execute(
                    "UPDATE runs SET finished = ?, summary = ? WHERE run_id = ?",
                    (time.time(), json.dumps(redact_obj(summary)), self.run_id),
                )

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.totals.items()},
        }
