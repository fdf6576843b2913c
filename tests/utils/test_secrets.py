from codistill.utils.secrets import looks_like_key, redact, redact_obj, register_secret


def test_redacts_registered_keys_and_key_shapes():
    register_secret("plain-secret-value-42")
    text = "401: bad key sk-proj-abcdefGHIJ0123456789 (Authorization: Bearer tok.en-1234567) plain-secret-value-42"
    out = redact(text)
    assert "sk-proj" not in out and "tok.en" not in out and "plain-secret" not in out and out.count("[REDACTED]") == 3
    assert (
        redact_obj({"a": [text], "n": 1})["a"][0] == out
        and redact("HTTP 503 from the server") == "HTTP 503 from the server"
    )


def test_key_shapes_versus_variable_names():
    assert looks_like_key("sk-abcdefghijklmnop") and looks_like_key("hf_abcdefghijklmnopqrstu")
    assert not any(looks_like_key(n) for n in ("OPENAI_API_KEY", "MY_LOCAL_SERVER_KEY", "TOGETHER_API_KEY"))


def test_cli_errors_are_redacted(capsys, monkeypatch):
    from codistill.cli import main
    from codistill.errors import ConfigError

    def boom(*a, **k):
        raise ConfigError("server said: invalid key sk-live-0123456789abcdef")

    monkeypatch.setattr("codistill.cli.data._load", boom)
    assert main(["data", "show"]) == 2
    err = capsys.readouterr().err
    assert "sk-live" not in err and "[REDACTED]" in err


def test_logs_are_redacted_once_the_cli_runs(caplog):
    import logging

    from codistill.cli import main

    main(["--version"])
    with caplog.at_level(logging.WARNING):
        logging.getLogger("httpx").warning("request failed with %s", "Authorization: Bearer abcdefgh12345678")
    assert "abcdefgh12345678" not in caplog.text and "[REDACTED]" in caplog.text


def test_a_password_and_a_key_in_a_url_are_redacted_and_the_rest_kept():
    url = "http://alice:pw-Secret123@llm.local:8000/v1?model=x&api_key=q1w2e3&access_token=abc"
    assert redact(url) == "http://alice:[REDACTED]@llm.local:8000/v1?model=x&api_key=[REDACTED]&access_token=[REDACTED]"
    for kept in ("http://localhost:8000/v1", "https://api.openai.com/v1?model=gpt-4o", "outputs/hf_cache/run-1"):
        assert redact(kept) == kept


def test_prose_after_bearer_is_not_a_token():
    assert redact("the bearer mentioned it twice") == "the bearer mentioned it twice"
    assert redact("Authorization: Bearer abcdefgh12345678") == "Authorization: Bearer [REDACTED]"


def test_carries_secret():
    from codistill.utils.secrets import carries_secret

    assert carries_secret("a fine film sk-proj-abcdefGHIJ0123456789") and carries_secret("a fine film [REDACTED]")
    assert not carries_secret("a fine film .") and not carries_secret(None)


def test_every_text_file_is_redacted_on_its_way_to_disk(tmp_path):
    from codistill.utils.io import atomic_write_json, atomic_write_jsonl, atomic_write_text

    register_secret("registered-secret-0042")
    atomic_write_text(tmp_path / "a.yaml", "base_url: http://u:pw-Secret123@h/v1\n")
    atomic_write_json(tmp_path / "b.json", {"detail": "echoed registered-secret-0042"})
    atomic_write_jsonl(tmp_path / "c.jsonl", [{"text": "good sk-live-0123456789abcdef"}])
    stored = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "pw-Secret123" not in stored and "registered-secret" not in stored and "sk-live" not in stored
    assert stored.count("[REDACTED]") == 3


def test_the_console_is_redacted_inside_a_command(capsys):
    import typer

    from codistill.utils.secrets import output_redaction

    register_secret("registered-secret-0043")
    with output_redaction():
        typer.echo("pair: good -> bad registered-secret-0043")
        print("http://u:pw-Secret123@h/v1")
        typer.secho("warning sk-live-0123456789abcdef", err=True)
    captured = capsys.readouterr()
    assert (
        "registered-secret" not in captured.out and "pw-Secret123" not in captured.out and "sk-live" not in captured.err
    )
    assert captured.out.count("[REDACTED]") == 2 and "[REDACTED]" in captured.err
    print("after the block, untouched: registered-secret-0043")
    assert "registered-secret-0043" in capsys.readouterr().out
