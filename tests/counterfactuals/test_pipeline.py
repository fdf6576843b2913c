"""End-to-end: the editor pipeline's files, the cache across reruns and larger k, the CLI, hf-chat."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import KeywordTeacher, RefusingTeacher

from codistill.counterfactuals.generators.base import Chosen, Failure, Outcome
from codistill.counterfactuals.pipeline import build_records, run_counterfactuals
from codistill.counterfactuals.record import read_counterfactuals
from codistill.data import Example


def quiet(*args, **kwargs):
    pass


def test_editor_pipeline_outputs_and_cache(base_config):
    first = run_counterfactuals(base_config, verifier=KeywordTeacher(), echo=quiet)
    out = Path(base_config.output_dir)
    records = read_counterfactuals(out / "counterfactuals.jsonl")
    assert len(records) == len(first.records) >= 7  # 8 originals
    teacher = KeywordTeacher()
    for r in records:
        assert (
            r.generator == "editor" and r.original_text and r.teacher_probs_original and r.teacher_probs_counterfactual
        )
        assert (
            r.counterfactual_label
            == int(teacher.probs([r.counterfactual_text])[0].argmax())
            != r.teacher_label_original
        )
    import datasets

    ds = datasets.load_from_disk(str(out / "dataset"))
    assert ds.num_rows == len(records) and ds[0]["counterfactual_text"] == records[0].counterfactual_text
    report = json.loads((out / "report.json").read_text())
    assert report["originals"] == 8 and report["edited_words"]["mean"] <= 2 and "validity_by_class" in report
    run = json.loads((out / "run.json").read_text())
    assert run["cached_outcomes"] == 0

    # the rerun never consults the teacher
    again = run_counterfactuals(base_config, verifier=RefusingTeacher(), echo=quiet)
    assert again.run["cached_outcomes"] == 8
    assert [r.to_dict() for r in again.records] == [r.to_dict() for r in first.records]

    # a larger k with the same seed only generates for the new originals
    bigger = run_counterfactuals(base_config.with_overrides({"k": 24}), verifier=KeywordTeacher(), echo=quiet)
    assert bigger.run["cached_outcomes"] == 8 and bigger.run["originals"] == 12


def test_cache_key_tracks_teacher_and_selection(base_config):
    run_counterfactuals(base_config, verifier=KeywordTeacher(), echo=quiet)
    other = KeywordTeacher()
    other.fingerprint = "another-teacher"
    assert run_counterfactuals(base_config, verifier=other, echo=quiet).run["cached_outcomes"] == 0
    nb = base_config.with_overrides({"selection": "nearest_boundary"})
    assert run_counterfactuals(nb, verifier=KeywordTeacher(), echo=quiet).run["cached_outcomes"] == 0


def test_cli_with_tiny_teacher(data_dir, tmp_path, monkeypatch):
    from codistill.cli import main
    from codistill.testing import make_tiny_model

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    teacher = make_tiny_model("bert", tmp_path / "teacher")
    out = tmp_path / "cf"
    args = [
        "counterfactuals",
        "--task",
        "sst2",
        "--data-dir",
        str(data_dir),
        "--k",
        "8",
        "--teacher",
        str(teacher),
        "-o",
        str(out),
        "-q",
        "--set",
        "report_similarity=false",
        "--set",
        "data.validation_size=4",
    ]
    assert main(args) == 0
    assert (
        (out / "counterfactuals.jsonl").is_file()
        and (out / "failures.jsonl").is_file()
        and (out / "report.json").is_file()
    )
    assert (tmp_path / "home" / "counterfactuals" / "cache.sqlite").is_file()
    assert main(["counterfactuals-report", str(out / "counterfactuals.jsonl"), "-o", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "report.json").read_text())["originals"] == 4


def test_cli_user_errors_are_one_line(data_dir, tmp_path, capsys, monkeypatch):
    from codistill.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    base = [
        "counterfactuals",
        "--task",
        "sst2",
        "--data-dir",
        str(data_dir),
        "--k",
        "8",
        "-o",
        str(tmp_path / "o"),
        "-q",
    ]
    assert main(base + ["--teacher", str(tmp_path / "nope")]) == 2
    assert main(base + ["--teacher", str(tmp_path), "--set", "generator=gpt"]) == 2
    assert main(base + ["--teacher", str(tmp_path), "--set", "selection=closest"]) == 2
    assert main(base) == 2  # no teacher
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 4


def test_hf_chat_with_tiny_causal_lm(base_config, tmp_path):
    from codistill.testing import make_tiny_model

    lm = make_tiny_model("qwen2", tmp_path / "lm")
    cfg = base_config.with_overrides(
        {
            "generator": "hf-chat",
            "hf_chat.model": str(lm),
            "hf_chat.max_new_tokens": 6,
            "hf_chat.num_candidates": 1,
            "max_attempts": 2,
            "k": 4,
        }
    )
    result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    # a random LM writes junk: nothing may crash, every failure has a reason, every kept record is verified
    assert len(result.records) + len({f["original_id"] for f in result.failures if f["final"]}) == 2
    assert all(f["reason"] for f in result.failures)
    again = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=quiet)
    assert again.run["cached_outcomes"] == 2


class StubbornTeacher(KeywordTeacher):
    """Moves with the keywords but always predicts positive: no edit ever flips it."""

    fingerprint = "stubborn-teacher-v1"

    def probs(self, texts):
        p = super().probs(texts)[:, 1]
        pos = 0.55 + 0.4 * p
        return np.stack([1 - pos, pos], axis=1)


def test_keep_unverified_writes_the_best_unchecked_candidate(base_config):
    verified_only = run_counterfactuals(base_config, verifier=StubbornTeacher(), echo=quiet)
    assert verified_only.records == [] and verified_only.report["valid"] == 0
    cfg = base_config.with_overrides({"keep_unverified": True, "output_dir": str(Path(base_config.output_dir) / "u")})
    refusing = RefusingTeacher()
    refusing.fingerprint = StubbornTeacher.fingerprint
    result = run_counterfactuals(cfg, verifier=refusing, echo=quiet)  # the same outcomes, from the cache
    assert len(result.records) == 8 and result.report["unverified_records"] == 8 and result.report["valid"] == 0
    teacher = StubbornTeacher()
    for r, out in zip(result.records, result.outcomes):
        assert r.meta["verified"] is False and r.counterfactual_text != r.original_text
        assert r.counterfactual_label == 1 == r.teacher_label_original  # the teacher's label: it did not flip
        # the candidate that moved the teacher furthest towards negative
        best = max((f for f in out.failures if f.candidate), key=lambda f: f.teacher_probs[0])
        assert r.counterfactual_text == best.candidate
        assert r.teacher_probs_counterfactual == pytest.approx(teacher.probs([r.counterfactual_text])[0].tolist())
    assert len(read_counterfactuals(Path(cfg.output_dir) / "counterfactuals.jsonl")) == 8


def test_an_empty_cached_choice_is_a_failure_not_a_record(base_config):
    """An outcome from an older cache whose chosen text has no words (the editor once emptied
    "We kicked myself") must not reach the file, where the reader would refuse it."""
    originals = [Example("e0", "We kicked myself", 0), Example("e1", "Him left .", 0)]
    outcomes = {
        "e0": Outcome("e0", Chosen("", [0.14, 0.86], 1, 3), 3, 0.0, [], meta={"teacher_label_original": 0}),
        "e1": Outcome("e1", Chosen("He left .", [0.2, 0.8], 1, 1), 1, 0.0, [], meta={"teacher_label_original": 0}),
    }
    records, failures = build_records(base_config, originals, outcomes)
    assert [r.counterfactual_text for r in records] == ["He left ."]
    assert [(f["original_id"], f["reason"], f["final"]) for f in failures] == [("e0", "empty_text", True)]


def test_keep_unverified_never_writes_a_candidate_without_words(base_config):
    """keep_unverified writes the checked candidate that moved the teacher furthest; one that
    deleted every word (" . ") is no counterfactual however far it moved the teacher."""
    cfg = base_config.with_overrides({"keep_unverified": True})
    fails = [
        Failure("e0", 1, "teacher:no_flip", candidate=" . ", teacher_probs=[0.4, 0.6]),
        Failure("e0", 1, "teacher:no_flip", candidate="We kicked ourselves", teacher_probs=[0.7, 0.3]),
    ]
    outcomes = {"e0": Outcome("e0", None, 1, 0.0, fails, meta={"teacher_label_original": 0})}
    records, _ = build_records(cfg, [Example("e0", "We kicked myself", 0)], outcomes)
    assert [(r.counterfactual_text, r.meta["verified"]) for r in records] == [("We kicked ourselves", False)]
