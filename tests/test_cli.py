"""The command line as a user meets it: exit codes, one-line errors, outputs."""

import json
import subprocess
import sys

import pytest

from codistill.cli import main


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_and_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("codistill ")
    for command in (
        ["--help"],
        ["data", "--help"],
        ["data", "sample", "--help"],
        ["teacher", "--help"],
        ["models", "--help"],
    ):
        code, out, _ = run(capsys, *command)
        assert code == 0 and "Usage:" in out


def test_data_show_and_sample(capsys, sentiment_dir, tmp_path):
    code, out, _ = run(capsys, "data", "show", "--task", "local", "--data-dir", str(sentiment_dir), "--json")
    assert code == 0 and json.loads(out)["splits"]["test"]["size"] == 60
    target = tmp_path / "shots"
    code, out, _ = run(
        capsys,
        "data",
        "sample",
        "-k",
        "8",
        "--seed",
        "1",
        "--task",
        "local",
        "--data-dir",
        str(sentiment_dir),
        "-o",
        str(target),
    )
    rows = [json.loads(line) for line in (target / "train.jsonl").read_text().splitlines()]
    assert code == 0 and len(rows) == 8 and sum(r["label"] for r in rows) == 4
    code, out, _ = run(
        capsys, "data", "sample", "-k", "8", "--seed", "1", "--cod", "--task", "local", "--data-dir", str(sentiment_dir)
    )
    assert [json.loads(line)["id"] for line in out.splitlines()] == [r["id"] for r in rows[:4]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["data", "sample", "-k", "7"], "even k"),
        (["data", "show", "--task", "nope"], "unknown task 'nope'"),
        (["teacher", "--set", "train.lr=1", "--print-config"], "unknown key 'lr'"),
        (["teacher", "--model", "/does/not/exist", "--task", "local", "--data-dir", "/does/not/exist"], "not found"),
    ],
)
def test_user_errors_are_one_line_without_traceback(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_file_error_names_file_and_line(capsys, tmp_path):
    (tmp_path / "train.jsonl").write_text('{"text": "ok", "label": 1}\n{"text": oops}\n')
    (tmp_path / "test.jsonl").write_text('{"text": "ok", "label": 1}\n')
    code, _, err = run(capsys, "data", "show", "--task", "local", "--data-dir", str(tmp_path))
    assert code == 2 and "train.jsonl:2: malformed JSON" in err


def test_print_config_round_trips(capsys, tmp_path):
    code, out, _ = run(capsys, "teacher", "--task", "sst2", "--lr", "3e-5", "--set", "train.epochs=2", "--print-config")
    assert code == 0
    path = tmp_path / "t.yaml"
    path.write_text(out)
    code, again, _ = run(capsys, "teacher", "--config", str(path), "--print-config")
    assert code == 0 and again == out and "learning_rate: 3.0e-05" in out


def test_console_script_entry_point(sentiment_dir):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "codistill.cli",
            "data",
            "sample",
            "-k",
            "3",
            "--task",
            "local",
            "--data-dir",
            str(sentiment_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: k=3") and "Traceback" not in proc.stderr
