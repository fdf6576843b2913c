"""``-o/--output-dir`` is always a directory: commands that write one result put it under a fixed
name inside; the old ``--output`` still works (one deprecation line) but refuses a file path."""

from __future__ import annotations

import json

import pytest

from codistill.cli import main
from tests.conftest import synthetic_sentiment


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _records(path):
    rows = []
    for i, row in enumerate(synthetic_sentiment(6, seed=3)):
        rows.append(
            {
                "original_id": f"o{i}",
                "original_text": row["text"],
                "original_label": row["label"],
                "teacher_label_original": row["label"],
                "counterfactual_text": row["text"].replace("was", "was not"),
                "counterfactual_label": 1 - row["label"],
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_data_sample_writes_train_jsonl_into_the_directory(capsys, sentiment_dir, tmp_path):
    out = tmp_path / "shots"
    code, stdout, _ = run(capsys, "data", "sample", "-k", 4, "--task", "local", "--data-dir", sentiment_dir, "-o", out)
    assert code == 0 and str(out / "train.jsonl") in stdout
    rows = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {r["label"] for r in rows} == {0, 1}
    assert sorted(p.name for p in out.iterdir()) == [".codistill", "train.jsonl"]


def test_counterfactuals_report_writes_report_json_into_the_directory(capsys, tmp_path):
    cf = _records(tmp_path / "counterfactuals.jsonl")
    out = tmp_path / "report"
    code, stdout, _ = run(capsys, "counterfactuals-report", cf, "--output-dir", out)
    assert code == 0, stdout
    assert json.loads((out / "report.json").read_text())["originals"] == 6


def test_evaluate_writes_metrics_json_into_the_directory(capsys, tiny_models, sentiment_dir, tmp_path):
    model = tiny_models("bert")
    capsys.readouterr()
    out = tmp_path / "eval"
    args = ["evaluate", "--student", model, "--teacher", model, "--task", "local", "--data-dir", sentiment_dir]
    code, stdout, err = run(capsys, *args, "-o", out)
    assert code == 0, err
    record = json.loads(stdout.strip().splitlines()[-1])
    assert json.loads((out / "metrics.json").read_text()) == record
    assert record["student"] == str(model) and "accuracy" in json.dumps(record)


@pytest.mark.parametrize(
    "command",
    [
        ["data", "sample", "-k", "4"],
        ["evaluate", "--student", "some-student", "--teacher", "some-teacher"],
        ["counterfactuals-report", "cf.jsonl"],
        ["models", "derive-student"],
        ["export", "some-model"],
        ["counterfactuals", "--teacher", "some-teacher"],
        ["explain", "--teacher", "some-teacher"],
    ],
)
@pytest.mark.parametrize("flag, path", [("--output", "record.json"), ("--output", "shots.jsonl"), ("-o", "r.json")])
def test_a_file_path_for_the_output_directory_is_one_line_exit_2(capsys, tmp_path, monkeypatch, command, flag, path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *command, flag, path)
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert code == 2 and lines == [
        f"error: -o/--output-dir takes a directory (codistill names the files in it), not a file: {path}"
    ]
    assert not (tmp_path / path).exists()


def test_the_old_output_spelling_still_writes_the_directory_and_warns(capsys, sentiment_dir, tmp_path):
    out = tmp_path / "shots"
    args = ["data", "sample", "-k", 4, "--task", "local", "--data-dir", sentiment_dir]
    code, _, err = run(capsys, *args, "--output", out)
    assert code == 0 and (out / "train.jsonl").is_file()
    assert [line for line in err.splitlines() if line.strip()] == ["warning: --output is deprecated; use --output-dir"]
    code, _, err = run(capsys, *args, "--output", out, "-o", out)
    assert code == 2 and "give --output-dir only" in err
