"""Keys never stored or printed: a server that echoes the bearer key inside its replies, and an
endpoint URL carrying a password and a key, against every file a run writes and the console."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("openai")

from fake_openai import FakeOpenAI  # noqa: E402
from helpers import KeywordTeacher  # noqa: E402
from test_openai_server import openai_config, quiet  # noqa: E402

from codistill.counterfactuals.pipeline import run_counterfactuals  # noqa: E402

KEY = "sk-proj-ECHOsecret0123456789abcdefXYZ"
PASSWORD, QUERY_KEY = "pw-Secret123", "q1w2e3"


@pytest.fixture(autouse=True)
def no_real_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def every_stored_byte(*roots: Path) -> dict[Path, bytes]:
    """Every file under ``roots`` (Arrow files of saved Datasets included), and the cache
    databases as SQL text (a key could sit in any table)."""
    found = {}
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file():
                found[path] = path.read_bytes()
                if path.suffix == ".sqlite":
                    found[path.with_suffix(".sql")] = "\n".join(sqlite3.connect(path).iterdump()).encode()
    return found


def assert_nowhere(secrets: list[str], stored: dict[Path, bytes], console: str = "") -> None:
    for secret in secrets:
        leaks = [str(p) for p, data in stored.items() if secret.encode() in data]
        assert not leaks, f"{secret} stored in {leaks}"
        assert secret not in console


def echoing(n: int, body: dict):
    """Every other request is answered with a real flip followed by the request's bearer key
    (which the keyword teacher accepts as a flip); the others with the flip alone."""
    return ("echo_key", None) if n % 2 == 0 else ("ok", None)


def test_a_reply_carrying_the_key_is_refused_and_the_key_reaches_no_file_and_no_console(
    data_dir, tmp_path, monkeypatch, capsys, tiny_models
):
    from codistill.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("codistill.counterfactuals.verify.TeacherVerifier", lambda *a, **k: KeywordTeacher())
    out = tmp_path / "cf"
    with FakeOpenAI(echoing) as srv:
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
                str(tiny_models("bert")),
                "--generator",
                "openai",
                "--base-url",
                srv.url,
                "-o",
                str(out),
                "-q",
                "--set",
                "report_similarity=false",
                "--set",
                "data.validation_size=4",
                "--set",
                "openai.concurrency=1",
                "--set",
                "max_attempts=2",
            ]
        )
    console = capsys.readouterr()
    assert code == 0, console.err
    assert "sample pairs:" in console.out  # the pair listing was printed, and holds no key
    import json

    from codistill.counterfactuals.record import read_counterfactuals

    records = read_counterfactuals(out / "counterfactuals.jsonl")
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert (
        len(records) == 3 and sum(f["reason"] == "parse:secret" for f in failures) == 3
    )  # refused, not redacted into the file
    assert not any("REDACTED" in r.counterfactual_text for r in records)
    stored = every_stored_byte(out, tmp_path / "home")
    assert any(p.suffix == ".arrow" for p in stored) and any(p.name == "config.yaml" for p in stored)
    assert_nowhere([KEY, KEY[8:24]], stored, console.out + console.err)


def test_a_password_and_a_key_in_the_endpoint_url_are_stored_nowhere(base_config, tmp_path):
    with FakeOpenAI(lambda n, body: ("ok", None)) as srv:
        url = srv.url.replace("http://", f"http://alice:{PASSWORD}@") + f"?api_key={QUERY_KEY}"
        cfg = openai_config(base_config, url, k=4)
        result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert len(result.records) == 2  # the endpoint worked
    out = Path(cfg.output_dir)
    config_yaml = (out / "config.yaml").read_text()
    assert f"alice:[REDACTED]@127.0.0.1:{srv.url.split(':')[2]}" in config_yaml and "api_key=[REDACTED]" in config_yaml
    db = sqlite3.connect(Path(cfg.cache_dir) / "cache.sqlite")
    (ledger_config,) = db.execute("SELECT config FROM runs").fetchone()
    assert "alice:[REDACTED]@" in ledger_config
    assert_nowhere([PASSWORD, QUERY_KEY], every_stored_byte(out, Path(cfg.cache_dir)))


def test_explain_stores_no_echoed_key(monkeypatch, tmp_path):
    from helpers import write_data

    from codistill.explanations.config import ExplainConfig
    from codistill.explanations.generate import generate_explanations

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "explanations"

    def script(n, body):  # rationales quote the text, then the key; critiques are prose, then the key
        user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        if "Quote at most" in user:
            return ("echo_key", '"' + re.search(r"Text: (.*)\n", user).group(1).split()[-2] + '",')
        return ("echo_key", "Every phrase is quoted from the text and supports the label.")

    with FakeOpenAI(script) as srv:
        cfg = ExplainConfig.from_dict(
            {
                "data": {"task": "sst2", "data_dir": str(write_data(tmp_path / "data")), "validation_size": 4},
                "k": 4,
                "seeds": [0],
                "eval_examples": 2,
                "cache_dir": str(tmp_path / "cache"),
                "output_dir": str(out),
                "progress": False,
                "source": "openai",
                "critique": True,
                "counterfactuals": False,
                "openai": {"base_url": srv.url, "backoff_s": 0.01},
            }
        )
        result = generate_explanations(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert result.records and all(r.rationale for r in result.records)  # the quoted evidence is kept
    assert all(r.critique is None for r in result.records)  # a critique echoing the key is refused
    assert_nowhere([KEY, KEY[8:24]], every_stored_byte(out, tmp_path / "cache"))
