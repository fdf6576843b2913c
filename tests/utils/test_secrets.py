from codistill.utils.secrets import looks_like_key, redact, redact_obj, register_secret


def test_redacts_registered_keys_and_key_shapes():
    register_secret("plain-secret-value-42")
    text = "401: bad key sk-proj-abcdefGHIJ0123456789 (Authorization: Bearer tok.en-1234567) plain-secret-value-42"
    out = redact(text)
    assert "sk-proj" not in out and "tok.en" not in out and "plain-secret" not in out and out.count("[REDACTED]") == 3
    assert redact_obj({"a": [text], "n": 1})["a"][0] == out and redact("HTTP 503 from the server") == "HTTP 503 from the server"


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
