"""End to end through the CLI: a tiny classifier teacher explains, tiny Qwen2 students learn from
the explanations in a modes x seeds grid, and the report carries the ANOVA."""

from __future__ import annotations

import json

import pytest

from codistill.cli import main


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    from codistill.testing import LLM_WORDS, TINY_WORDS, make_tiny_model

    return make_tiny_model("bert", tmp_path_factory.mktemp("teacher"), words=(*TINY_WORDS, *LLM_WORDS), seed=3)


def test_explain_then_distill_grid_and_report(tmp_path, sentiment_dir, teacher_dir, tiny_models):
    from codistill.testing import LLM_WORDS, TINY_WORDS

    student = tiny_models("qwen2", causal_lm=True, words=(*TINY_WORDS, *LLM_WORDS))
    out = tmp_path / "expl"
    rc = main(
        [
            "explain",
            "--task",
            "local",
            "--data-dir",
            str(sentiment_dir),
            "--k",
            "8",
            "--seeds",
            "0,1",
            "--teacher",
            str(teacher_dir),
            "--eval-examples",
            "6",
            "-o",
            str(out),
            "-q",
            "--set",
            "data.label_names=[negative,positive]",
            "--set",
            "data.validation_size=20",
        ]
    )
    assert rc == 0
    rows = [json.loads(x) for x in (out / "explanations.jsonl").read_text().splitlines()]
    assert rows and all(r["rationale"] and r["source"] == "teacher" for r in rows)
    assert (out / "eval.jsonl").is_file() and (out / "dataset").is_dir()

    results = tmp_path / "grid" / "results.jsonl"
    args = [
        "explain-distill",
        "-e",
        str(out),
        "--student",
        str(student),
        "--mode",
        "task,both",
        "--seeds",
        "0,1",
        "--k",
        "8",
        "--max-steps",
        "2",
        "--lora",
        "--results",
        str(results),
        "--set",
        "explain_eval_examples=3",
        "--set",
        "max_new_tokens=6",
        "--set",
        "max_eval_examples=12",
        "--set",
        "train.batch_size=4",
    ]
    assert main(args) == 0
    records = [json.loads(x) for x in results.read_text().splitlines()]
    assert sorted((r["key"]["recipe"], r["key"]["seed"]) for r in records) == [
        ("explain-both", 0),
        ("explain-both", 1),
        ("explain-task", 0),
        ("explain-task", 1),
    ]
    both = [r for r in records if r["key"]["recipe"] == "explain-both"]
    assert all(
        {"cf_validity", "cf_self_consistency", "simulatability", "rationale_f1"} <= set(r["metrics"]) for r in both
    )
    assert all("cf_validity" not in r["metrics"] for r in records if r["key"]["recipe"] == "explain-task")
    # each record keeps what the student wrote for the first test texts (none for a task-only student)
    assert all(
        len(r["samples"]) == 3 and {"text", "counterfactual", "rationale", "student_label"} <= set(r["samples"][0])
        for r in both
    )
    assert all(r["samples"] == [] for r in records if r["key"]["recipe"] == "explain-task")
    report = (results.parent / "report" / "report.md").read_text()
    # method tables per metric (the ANOVA itself is tested in tests/experiments/test_anova.py;
    # these random tiny students predict one class, so there is nothing to test here)
    assert "method (accuracy)" in report and "explain-both" in report and "explain-task" in report
    assert "no paired baseline" not in report  # no CoD runs: no empty CoD tables
    assert main(args) == 0  # resumed: nothing to redo
    assert len(results.read_text().splitlines()) == 4


def test_explain_distill_needs_explanations(tmp_path):
    assert main(["explain-distill", "--mode", "task"]) == 2
    assert main(["explain-distill", "-e", str(tmp_path)]) == 2
