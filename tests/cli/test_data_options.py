"""Every stage that reads data takes the shared data options the same way: --data-source, the
column options, label names and (where a command trains on them) your own --train/--test/--validation files."""

from __future__ import annotations

import json

import pytest
import yaml

from codistill.cli import main
from tests.conftest import synthetic_sentiment, write_jsonl


def printed(capsys, *args) -> dict:
    assert main([str(a) for a in args]) == 0
    return yaml.safe_load(capsys.readouterr().out)


@pytest.mark.parametrize("command", ["teacher", "distill"])
def test_training_stages_take_source_files_columns_and_label_names(capsys, command):
    data = printed(
        capsys,
        command,
        "--print-config",
        "--data-source",
        "full_stars",
        "--train",
        "mine/train.csv",
        "--test",
        "mine/test.csv",
        "--validation",
        "mine/dev.csv",
        "--text-column",
        "sentence",
        "--label-column",
        "y",
        "--label-names",
        "bad,good",
    )["data"]
    assert data["source"] == "full_stars" and data["label_names"] == ["bad", "good"]
    assert (data["train_file"], data["test_file"], data["validation_file"]) == (
        "mine/train.csv",
        "mine/test.csv",
        "mine/dev.csv",
    )
    assert (data["text_columns"], data["label_column"]) == (["sentence"], "y")


def test_counterfactuals_takes_data_source(capsys, monkeypatch):
    import codistill.counterfactuals.pipeline as pipeline

    seen = []

    def stage(cfg, **kwargs):
        seen.append(cfg)
        raise RuntimeError("stop")

    monkeypatch.setattr(pipeline, "run_counterfactuals", stage)
    assert main(["counterfactuals", "--teacher", "t", "--data-source", "full_stars"]) == 1
    assert seen[0].data.source == "full_stars"


def test_evaluate_reads_other_column_names(capsys, tiny_models, tmp_path):
    model = tiny_models("bert")
    capsys.readouterr()
    rows = [{"sentence": r["text"], "y": r["label"]} for r in synthetic_sentiment(40, seed=5)]
    write_jsonl(tmp_path / "d" / "train.jsonl", rows)
    write_jsonl(tmp_path / "d" / "test.jsonl", rows[:20])
    args = ["evaluate", "--student", model, "--teacher", model, "--task", "local", "--data-dir", tmp_path / "d"]
    assert main([str(a) for a in args]) == 2  # no text column called "text"
    capsys.readouterr()
    code = main(
        [str(a) for a in [*args, "--text-column", "sentence", "--label-column", "y", "--label-names", "neg,pos"]]
    )
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["test"]["n"] == 20


def test_teacher_on_own_files_needs_validation_texts(capsys, tmp_path):
    write_jsonl(tmp_path / "train.jsonl", synthetic_sentiment(20, seed=1))
    assert main(["teacher", "--train", str(tmp_path / "train.jsonl"), "--set", "train.max_steps=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --validation FILE" in err[0]


def test_teacher_trains_on_own_files_with_other_column_names(capsys, tiny_models, tmp_path):
    model = tiny_models("bert", head=False)
    capsys.readouterr()
    for name, n, seed in (("train", 60, 1), ("test", 20, 2), ("dev", 20, 3)):
        rows = [{"s": r["text"], "y": r["label"]} for r in synthetic_sentiment(n, seed=seed)]
        write_jsonl(tmp_path / f"{name}.jsonl", rows)
    args = ["teacher", "--model", model, "--train", tmp_path / "train.jsonl", "--test", tmp_path / "test.jsonl"]
    args += ["--validation", tmp_path / "dev.jsonl", "--text-column", "s", "--label-column", "y"]
    args += ["--label-names", "neg,pos", "--set", "train.max_steps=1", "-o", tmp_path / "teacher"]
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / "teacher" / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
