"""The spending cap against a loopback server that misreports usage or times out: a reply without
usage, a timed-out call and an over-reported reply all count against the cap, the console never
claims what the ledger contradicts, and one cap covers every run of a command."""

from __future__ import annotations

import pytest

pytest.importorskip("openai")

from fake_openai import FakeOpenAI  # noqa: E402
from helpers import KeywordTeacher  # noqa: E402
from test_openai_server import openai_config, quiet  # noqa: E402

from codistill.counterfactuals.budget import Budget, spending_lines  # noqa: E402
from codistill.counterfactuals.pipeline import run_counterfactuals  # noqa: E402

#: prompts free and 100 USD per 1M completion tokens: a call reserves exactly max_tokens * 1e-4 USD
FLAT = {"openai.price_input_per_mtok": 0.0, "openai.price_output_per_mtok": 100.0, "openai.max_tokens": 10}


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_a_reply_without_usage_is_charged_its_reservation_not_zero(base_config):
    with FakeOpenAI(lambda n, body: ("ok", None), usage=False) as srv:
        cfg = openai_config(base_config, srv.url, **{**FLAT, "max_budget_usd": 0.0025, "openai.concurrency": 4})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    ledger = result.run["ledger"]
    assert len(srv.requests) == 2  # 2 x 0.001 fit under 0.0025; 8 originals wanted
    assert ledger["cost_usd"] == pytest.approx(0.002) and result.report["cost_usd"] == pytest.approx(0.002)
    assert result.run["stopped_by_budget"] and ledger["calls"] == ledger["unmetered"] == 2
    assert any("without usage" in line for line in spending_lines(ledger, 0.0025, result.run["stopped_by_budget"]))


def test_a_zero_usage_figure_is_no_usage_figure(base_config):
    with FakeOpenAI(lambda n, body: ("ok", None), prompt_tokens=0, completion_tokens=0) as srv:
        cfg = openai_config(base_config, srv.url, **{**FLAT, "max_budget_usd": 0.0025, "k": 4})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(srv.requests) == 2 and result.run["ledger"]["cost_usd"] == pytest.approx(0.002)


def test_a_timed_out_call_counts_as_spent(base_config):
    # the first try times out (the server may still bill it); its retry would cross the cap
    with FakeOpenAI(lambda n, body: ("sleep", 1.5, None) if n == 0 else ("ok", None)) as srv:
        cfg = openai_config(
            base_config,
            srv.url,
            **{**FLAT, "k": 2, "openai.timeout_s": 0.5, "openai.max_retries": 2, "max_budget_usd": 0.0015},
        )
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(srv.requests) == 1 and result.records == []
    assert result.run["stopped_by_budget"] and result.run["ledger"]["cost_usd"] == pytest.approx(0.001)
    assert result.report["cost_usd"] == pytest.approx(0.001)  # the outcome carries it too: one figure everywhere


def test_a_timed_out_call_is_paid_once_a_retry_succeeds(base_config):
    with FakeOpenAI(lambda n, body: ("sleep", 1.5, None) if n == 0 else ("ok", None)) as srv:
        cfg = openai_config(base_config, srv.url, **{**FLAT, "k": 2, "openai.timeout_s": 0.5, "openai.max_retries": 2})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(result.records) == 1 and result.run["ledger"]["retried"] == 1
    assert result.run["ledger"]["cost_usd"] == pytest.approx(0.002)  # the timed-out try (worst case) + the reply
    assert result.records[0].cost_usd == pytest.approx(0.002)


def test_over_reported_usage_settles_at_most_what_the_request_could_cost(base_config):
    # 5M completion tokens against max_tokens=128 at gpt-4o prices: $50 as reported
    with FakeOpenAI(lambda n, body: ("ok", None), completion_tokens=5_000_000) as srv:
        cfg = openai_config(base_config, srv.url, **{"max_budget_usd": 0.01, "openai.concurrency": 1})
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    ledger = result.run["ledger"]
    assert 0 < ledger["cost_usd"] <= 0.01
    assert ledger["cost_usd"] == pytest.approx(ledger["calls"] * (100 * 2.5 + 128 * 10.0) / 1e6)
    assert ledger["calls"] == ledger["over_reported"] == len(srv.requests) > 0
    assert ledger["completion_tokens"] == 5_000_000 * ledger["calls"]  # what the server said stays visible
    lines = spending_lines(ledger, 0.01, result.run["stopped_by_budget"])
    assert any("more tokens than their request could use" in line for line in lines)


def test_the_console_never_claims_a_stop_below_the_budget_the_ledger_exceeds():
    ledger = {"cost_usd": 3.0, "over_reported": 1, "unmetered": 0}
    lines = spending_lines(ledger, 0.01, "budget:exceeded the next call could cross the $0.0100 budget")
    assert not any("before exceeding" in line for line in lines)
    assert any("$3.0000 spent, above the $0.0100 budget" in line for line in lines)
    within = spending_lines({"cost_usd": 0.004}, 0.01, "budget:exceeded ...")
    assert within == [
        "stopped before exceeding the budget: spent $0.0040 of $0.0100 (the next call could have crossed it); "
        "rerun with a larger --max-budget to resume"
    ]


def test_the_cli_never_prints_a_claim_the_ledger_contradicts(data_dir, tmp_path, monkeypatch, capsys, tiny_models):
    # the one way past the cap: the first reply reports far more prompt tokens than the prompt holds
    from codistill.cli import main

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("codistill.counterfactuals.verify.TeacherVerifier", lambda *a, **k: KeywordTeacher())
    teacher = str(tiny_models("bert"))
    capsys.readouterr()
    with FakeOpenAI(lambda n, body: ("ok", None), prompt_tokens=3_000_000) as srv:
        code = main(
            [
                "counterfactuals",
                "--task",
                "sst2",
                "--data-dir",
                str(data_dir),
                "--k",
                "8",
                "--teacher",
                teacher,
                "--generator",
                "openai",
                "--base-url",
                srv.url,
                "--max-budget",
                "0.01",
                "-o",
                str(tmp_path / "cf"),
                "-q",
                "--set",
                "report_similarity=false",
                "--set",
                "data.validation_size=4",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0 and len(srv.requests) == 1
    assert "before exceeding" not in out  # the ledger shows $7.50 on a $0.01 cap
    assert (
        "the ledger shows $7.5001 spent, above the $0.0100 budget" in out and "1 reply(ies) reported more tokens" in out
    )


def test_one_budget_caps_every_run_of_a_command(base_config):
    # what a sweep (one run per seed) and `explain` (counterfactuals, then rationales) do: each
    # run would fit two calls under its own cap; together they get two
    budget = Budget(0.0025)
    with FakeOpenAI(lambda n, body: ("ok", None)) as srv:
        for seed in (0, 1, 2):
            cfg = openai_config(
                base_config,
                srv.url,
                **{
                    **FLAT,
                    "seed": seed,
                    "k": 8,
                    "max_budget_usd": 0.0025,
                    "output_dir": f"{base_config.output_dir}-{seed}",
                },
            )
            run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet, budget=budget)
    assert len(srv.requests) == 2 and budget.spent == pytest.approx(0.002)


def test_a_sweep_spends_its_budget_once(base_config, monkeypatch):
    from pathlib import Path

    import codistill.counterfactuals.pipeline as pipeline
    from codistill.experiments.config import SweepConfig, SweepTask
    from codistill.experiments.sweep import prepare_counterfactuals, sweep_budget

    real = pipeline.run_counterfactuals
    monkeypatch.setattr(pipeline, "run_counterfactuals", lambda cfg, **kw: real(cfg, verifier=KeywordTeacher(), **kw))
    with FakeOpenAI(lambda n, body: ("ok", None)) as srv:
        overrides = [
            "generator=openai",
            f"openai.base_url={srv.url}",
            "openai.backoff_s=0.01",
            "max_budget_usd=0.0025",
            "report_similarity=false",
            "progress=false",
            "data.validation_size=4",
            f"cache_dir={base_config.cache_dir}",
            *(f"{k}={v}" for k, v in FLAT.items()),
        ]
        config = SweepConfig(
            tasks=[SweepTask(task="sst2", data_dir=base_config.data.data_dir)],
            ks=[8],
            seeds=[0, 1, 2],
            cod_modes=["paper"],  # the k/2 budget these tests count
            counterfactual_overrides=overrides,
            output_dir=base_config.output_dir,
        )
        budget = sweep_budget(config)
        said: list[str] = []
        for seed in config.seeds:  # what plan() does: one counterfactual run per (task, seed, mode), one budget
            prepare_counterfactuals(
                config, config.tasks[0], "scripted", seed, Path(config.output_dir), said.append, budget=budget
            )
    assert budget.limit == 0.0025 and len(srv.requests) == 2 and budget.spent == pytest.approx(0.002)
    assert sum("stopped by the sweep's --max-budget" in line for line in said) == 3


def test_explain_spends_one_cap_on_counterfactuals_and_rationales(tmp_path):
    from helpers import write_data

    from codistill.explanations.config import ExplainConfig
    from codistill.explanations.generate import generate_explanations

    with FakeOpenAI(lambda n, body: ("ok", None), usage=False) as srv:
        cfg = ExplainConfig.from_dict(
            {
                "data": {"task": "sst2", "data_dir": str(write_data(tmp_path / "data")), "validation_size": 4},
                "k": 4,
                "seeds": [0],
                "cache_dir": str(tmp_path / "cache"),
                "output_dir": str(tmp_path / "explanations"),
                "progress": False,
                "source": "openai",
                "max_budget_usd": 0.0025,
                "openai": {
                    "base_url": srv.url,
                    "backoff_s": 0.01,
                    "price_input_per_mtok": 0.0,
                    "price_output_per_mtok": 100.0,
                    "max_tokens": 10,
                },
            }
        )
        result = generate_explanations(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(srv.requests) == 2 and result.run["cost_usd"] == pytest.approx(0.002)
    assert result.run["stopped_by_budget"]
