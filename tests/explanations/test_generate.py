"""``codistill explain``: offline teacher-grounded explanations and the LLM path (scripted
OpenAI-compatible server) through the cache, ledger and budget."""

from __future__ import annotations

import re

import pytest

from codistill.explanations.generate import generate_explanations
from codistill.explanations.record import read_explanations
from codistill.explanations.render import parse_counterfactual


def quiet(*args, **kwargs):
    pass


def test_teacher_grounded_explanations_are_verified_and_grounded(explain_config, keyword_teacher):
    from helpers import NEGATIVE, POSITIVE

    result = generate_explanations(explain_config, verifier=keyword_teacher, echo=quiet)
    out = result.output_dir
    records, held = read_explanations(out / "explanations.jsonl"), read_explanations(out / "eval.jsonl")
    assert len(records) == len({r.id for r in records}) >= 8 and len(held) == 4
    names = ["negative", "positive"]
    for r in records + held:
        assert r.rationale.startswith(names[r.teacher_label] + ": ")
        # the teacher's own evidence: its keywords, never function words
        assert r.evidence and all(
            w.lower() in POSITIVE | NEGATIVE | {"not", "never"} or w.endswith("n't") for w in r.evidence
        )
        if r.counterfactual is not None:
            text, claimed = parse_counterfactual(r.counterfactual, r.text)
            assert text == r.counterfactual_text and claimed == names[r.counterfactual_label]
            assert keyword_teacher.probs([text])[0].argmax() == r.counterfactual_label != r.teacher_label
    assert result.run["with_counterfactual"] >= 0.8 * len(records + held)
    from datasets import load_from_disk

    ds = load_from_disk(str(out / "dataset"))
    assert ds.num_rows == len(records) and ds[0]["rationale"] == records[0].rationale


def test_budget_union_covers_every_seed(explain_config, keyword_teacher):
    from codistill.data import load_task, sample

    result = generate_explanations(explain_config, verifier=keyword_teacher, echo=quiet)
    data = load_task(explain_config.data)
    want = {e.id for s in (0, 1) for e in sample(data, 8, s).examples}
    assert {r.id for r in result.records} == want


def _script(n, body):
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    user = users[-1]
    if "Critique the evidence" in user:
        return ("ok", "The phrase is quoted and supports the label.")
    if user.startswith("Critique:"):  # the revision keeps only phrases found in the text
        return ("ok", '"revised-not-in-text", "' + re.search(r"Text: (\S+)", users[0]).group(1) + '"')
    if "Quote at most" in user:
        text = re.search(r"Text: (.*)\n", user).group(1)
        return ("ok", ", ".join(f'"{w}"' for w in text.split()[-3:-1]))
    return ("ok", None)  # counterfactual prompts: the fake server flips sentiment words


@pytest.fixture
def fake_server(monkeypatch):
    pytest.importorskip("openai")
    from fake_openai import FakeOpenAI

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeOpenAI(_script) as srv:
        yield srv


def test_llm_source_critique_revision_cache_and_ledger(explain_config, keyword_teacher, fake_server):
    cfg = explain_config.with_overrides(
        {
            "source": "openai",
            "openai.base_url": fake_server.url,
            "critique": True,
            "revise": True,
            "openai.backoff_s": 0.01,
            "eval_examples": 0,
        }
    )
    first = generate_explanations(cfg, verifier=keyword_teacher, echo=quiet)
    n = len(first.records)
    served = len(fake_server.requests)
    assert first.run["rationale_ledger"]["ok"] == 3 * n  # rationale, critique and revision per example
    for r in first.records:
        assert r.critique == "The phrase is quoted and supports the label."
        assert r.revision == ("positive" if r.teacher_label else "negative") + f': "{r.text.split()[0]}"'
        assert r.rationale == r.revision and r.provenance["draft"] != r.rationale  # the revision replaces the draft
        assert r.provenance["source"] == "openai" and r.provenance["prompt"]
    second = generate_explanations(cfg, verifier=keyword_teacher, echo=quiet)
    assert len(fake_server.requests) == served  # everything from the cache
    assert second.run["rationale_ledger"]["cached"] == 3 * n
    assert [r.rationale for r in second.records] == [r.rationale for r in first.records]


def test_llm_budget_stops_cleanly(explain_config, keyword_teacher, fake_server):
    cfg = explain_config.with_overrides(
        {
            "source": "openai",
            "openai.base_url": fake_server.url,
            "max_budget_usd": 0.0,
            "eval_examples": 0,
            "use_cache": False,
        }
    )
    result = generate_explanations(cfg, verifier=keyword_teacher, echo=quiet)
    assert len(fake_server.requests) == 0
    assert all(r.rationale is None and r.counterfactual is None for r in result.records)
    assert result.run["cost_usd"] == 0.0


def test_critique_needs_an_llm_source(explain_config):
    with pytest.raises(Exception, match="LLM source"):
        explain_config.with_overrides({"critique": True})


def test_a_run_that_overrides_the_rationales_step_records_its_rationales(explain_config, keyword_teacher):
    """``ExplainRun.rationales`` is a step a subclass may replace: one dict per example, in the
    order of ``examples``, whose ``revision`` (else ``rationale``) and ``evidence`` the records keep."""
    from codistill.explanations.generate import ExplainRun

    class OwnRationales(ExplainRun):
        def rationales(self):
            self.provenance = {"source": "own", "teacher": None, "teacher_fingerprint": "fp"}
            self.ledger_summary = {}
            return [
                {"evidence": [e.text.split()[0]], "rationale": f"draft {i}", "revision": None if i % 2 else f"rev {i}"}
                for i, e in enumerate(self.examples)
            ]

    config = explain_config.model_copy(update={"counterfactuals": False})
    result = OwnRationales(config, verifier=keyword_teacher, echo=quiet).run()
    records = result.records + result.eval_records
    assert [r.rationale for r in records] == [f"draft {i}" if i % 2 else f"rev {i}" for i in range(len(records))]
    assert all(r.evidence == [r.text.split()[0]] for r in records)
    assert all(r.provenance["teacher_fingerprint"] == "fp" and r.counterfactual is None for r in records)
    assert result.run["with_rationale"] == len(records) and result.run["teacher_fingerprint"] == "fp"
    assert read_explanations(result.output_dir / "explanations.jsonl") == result.records
