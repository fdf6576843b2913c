"""The cache keeps facts about the text (a parsed reply, the teacher's verdict), never a failure of
the endpoint: after a wrong key or a broken endpoint is fixed, the rerun calls again; a run in
which every call failed says so and exits 2."""

from __future__ import annotations

import pytest

pytest.importorskip("openai")

from fake_openai import FakeOpenAI  # noqa: E402
from helpers import KeywordTeacher  # noqa: E402
from test_openai_server import openai_config, quiet  # noqa: E402

from codistill.counterfactuals.pipeline import run_counterfactuals  # noqa: E402
from codistill.errors import EndpointError  # noqa: E402

NOT_A_CHAT_COMPLETION = [b'{"choices": []}', b'{"choices": [{"message": {}}]}', b"{}", b'{"error": "quota"}']


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def broken_until_fixed(failure):
    state = {"fixed": False}
    return state, (lambda n, body: ("ok", None) if state["fixed"] else failure)


@pytest.mark.parametrize(
    "failure",
    [
        ("status", 401),
        ("status", 403),
        ("status", 404),
        ("echo_key", None),
        *(("garbage", body) for body in NOT_A_CHAT_COMPLETION),
    ],
    ids=["401", "403", "404", "echoed-key", *(b.decode() for b in NOT_A_CHAT_COMPLETION)],
)
def test_an_endpoint_failure_is_not_cached_and_the_rerun_calls_again(base_config, failure, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-CACHEsecret0123456789abcdef")  # what echo_key echoes
    state, script = broken_until_fixed(failure)
    with FakeOpenAI(script) as srv:
        cfg = openai_config(base_config, srv.url, **{"k": 4, "max_attempts": 1, "openai.max_retries": 1})
        first = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
        served = len(srv.requests)
        state["fixed"] = True
        second = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(srv.requests) == served + 2  # both originals asked again, nothing served from the cache
    assert second.run["cached_outcomes"] == 0 and len(second.records) == 2
    assert first.records == [] and first.run["endpoint_failure"] and second.run["endpoint_failure"] is None
    with pytest.raises(EndpointError, match="every API call failed"):
        first.check_endpoint()
    assert second.check_endpoint() is second


def test_a_parsed_reply_and_the_teachers_verdict_are_cached(base_config):
    # a neutral reply: the teacher accepts it for one original and not for the other (a verdict
    # on the text, cached like a flip); a rerun asks nothing
    with FakeOpenAI(lambda n, body: ("ok", "the film is here .")) as srv:
        cfg = openai_config(base_config, srv.url, **{"k": 4, "max_attempts": 1})
        first = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
        assert [f["reason"] for f in first.failures] == ["teacher:no_flip"] and first.run["endpoint_failure"] is None
        second = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(srv.requests) == 2 and second.run["cached_outcomes"] == 2


def test_cli_exits_2_naming_the_cause_when_every_call_failed_and_0_after_the_fix(
    data_dir, tmp_path, monkeypatch, capsys, tiny_models
):
    from codistill.cli import main

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("codistill.counterfactuals.verify.TeacherVerifier", lambda *a, **k: KeywordTeacher())
    teacher = str(tiny_models("bert"))
    state, script = broken_until_fixed(("status", 401))
    with FakeOpenAI(script) as srv:
        args = [
            "counterfactuals",
            "--task",
            "sst2",
            "--data-dir",
            str(data_dir),
            "--k",
            "4",
            "--teacher",
            teacher,
            "--generator",
            "openai",
            "--base-url",
            srv.url,
            "-o",
            str(tmp_path / "cf"),
            "-q",
            "--set",
            "report_similarity=false",
            "--set",
            "data.validation_size=4",
            "--set",
            "max_attempts=1",
        ]
        capsys.readouterr()
        assert main(args) == 2
        errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert (
            len(errors) == 1
            and errors[0].startswith("error: every API call failed: api:http_401")
            and "(x2)" in errors[0]
        )
        state["fixed"] = True
        assert main(args) == 0
    assert "wrote 2 counterfactuals" in capsys.readouterr().out
