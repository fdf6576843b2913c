"""Money and secrets with the ``openai`` generator, against a loopback server (issue 14): the
budget is a hard cap, unpriced models need prices, transient failures are never cached as final,
the cache is keyed by endpoint and served model, and keys are never stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("openai")

from fake_openai import FakeOpenAI  # noqa: E402
from helpers import KeywordTeacher  # noqa: E402
from test_openai_server import openai_config, quiet  # noqa: E402

from codistill.counterfactuals.pipeline import run_counterfactuals  # noqa: E402
from codistill.errors import ConfigError  # noqa: E402

KEY = "sk-proj-TESTsecret0123456789abcdefXYZ"


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_budget_is_a_hard_cap_even_when_the_server_reports_more_tokens(base_config):
    # 3,000 prompt tokens per call (far above the prompt's size) with 8 calls in flight
    with FakeOpenAI(lambda n, body: ("ok", "the film is nice ."), prompt_tokens=3000) as srv:
        cfg = openai_config(base_config, srv.url, **{"openai.concurrency": 8, "max_budget_usd": 0.02})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    ledger = result.run["ledger"]
    assert 0 < ledger["calls"] and ledger["cost_usd"] <= 0.02
    assert result.run["stopped_by_budget"] and "0.0200" in result.run["stopped_by_budget"]
    assert result.report["cost_usd"] == pytest.approx(ledger["cost_usd"])  # one figure everywhere
    run_json = json.loads((Path(cfg.output_dir) / "run.json").read_text())
    assert run_json["ledger"]["cost_usd"] == ledger["cost_usd"]


def test_unpriced_model_with_a_budget_is_an_error_unless_prices_are_given(base_config):
    with FakeOpenAI(lambda n, body: ("ok", None)) as srv:
        cfg = openai_config(base_config, srv.url, **{"openai.model": "gpt-5", "max_budget_usd": 0.5, "k": 2})
        with pytest.raises(ConfigError, match="no known price for model 'gpt-5'"):
            run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
        assert srv.requests == []
        priced = cfg.with_overrides({"openai.price_input_per_mtok": 1.0, "openai.price_output_per_mtok": 2.0})
        result = run_counterfactuals(priced, verifier=KeywordTeacher(), echo=quiet)
        assert result.run["ledger"]["cost_usd"] == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)
        said = []
        run_counterfactuals(
            cfg.with_overrides({"max_budget_usd": None, "use_cache": False}),
            verifier=KeywordTeacher(),
            echo=said.append,
        )
        assert any("no known price for model 'gpt-5'" in line for line in said)


def test_transient_failures_are_retried_by_the_next_run(base_config):
    state = {"down": True}
    with FakeOpenAI(lambda n, body: ("status", 503) if state["down"] else ("ok", None)) as srv:
        cfg = openai_config(base_config, srv.url, **{"k": 4, "openai.max_retries": 0, "max_attempts": 1})
        first = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
        assert first.records == [] and {f["reason"] for f in first.failures} == {"api:gave_up"}
        state["down"] = False
        second = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
        assert second.run["cached_outcomes"] == 0 and len(second.records) == 2


def test_cache_is_keyed_by_endpoint_and_served_model(base_config):
    with FakeOpenAI(lambda n, body: ("ok", None)) as a, FakeOpenAI(lambda n, body: ("ok", None)) as b:
        cfg = dict(k=2)
        run_counterfactuals(openai_config(base_config, a.url, **cfg), verifier=KeywordTeacher(), echo=quiet)
        assert len(a.requests) == 1
        run_counterfactuals(openai_config(base_config, a.url, **cfg), verifier=KeywordTeacher(), echo=quiet)
        assert len(a.requests) == 1  # same endpoint, same model: cached
        other = run_counterfactuals(openai_config(base_config, b.url, **cfg), verifier=KeywordTeacher(), echo=quiet)
        assert len(b.requests) == 1 and other.run["cached_outcomes"] == 0  # another server answers itself
        a.models = [{"id": "gpt-4o", "object": "model", "root": "/models/another-checkpoint"}]
        swapped = run_counterfactuals(openai_config(base_config, a.url, **cfg), verifier=KeywordTeacher(), echo=quiet)
        assert len(a.requests) == 2 and swapped.run["cached_outcomes"] == 0
        a.models = None  # the model list is unavailable now: the last one it gave still identifies it
        again = run_counterfactuals(openai_config(base_config, a.url, **cfg), verifier=KeywordTeacher(), echo=quiet)
        assert len(a.requests) == 2 and again.run["cached_outcomes"] == 1


def test_a_key_echoed_by_the_server_is_never_stored(base_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAI(lambda n, body: ("echo_auth", 400)) as srv:
        cfg = openai_config(base_config, srv.url, **{"k": 2, "max_attempts": 1})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert result.failures and "[REDACTED]" in result.failures[0]["detail"]
    stored = [p for p in Path(cfg.output_dir).rglob("*") if p.is_file()]
    for path in stored:
        assert KEY not in path.read_text(errors="replace"), path
    db = sqlite3.connect(Path(cfg.cache_dir) / "cache.sqlite")
    dump = "\n".join(db.iterdump())
    assert "[REDACTED]" in dump and KEY not in dump and KEY[3:20] not in dump


def test_a_key_where_the_variable_name_belongs_is_refused_and_never_written(base_config, tmp_path):
    with pytest.raises(ConfigError, match="api_key_env") as info:
        base_config.with_overrides({"openai.api_key_env": KEY})
    assert KEY not in str(info.value)
    from codistill.cli import main

    out = tmp_path / "cli-out"
    code = main(
        [
            "counterfactuals",
            "--generator",
            "openai",
            "--teacher",
            "t",
            "-o",
            str(out),
            "--set",
            f"openai.api_key_env={KEY}",
        ]
    )
    assert code == 2 and not out.exists()
