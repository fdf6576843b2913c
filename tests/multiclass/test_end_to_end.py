"""A three-class task end to end on tiny models: data -> teacher -> editor counterfactuals ->
KD and KD+CoD students -> run records with macro-F1, per-class recall and confusion matrices -> report."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

WORDS = {
    "praise": "good great fine excellent wonderful brilliant".split(),
    "scorn": "bad awful terrible boring dull worst".split(),
    "people": "he she they we you i".split(),
}


def _rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    combos = {lab: list(itertools.permutations(ws, 2)) for lab, ws in WORDS.items()}
    rows = []
    for i in range(n):
        lab = list(WORDS)[i % 3]
        a, b = combos[lab][(i // 3) % len(combos[lab])]
        filler = rng.choice(["the film", "the story", "this movie", "the plot"])
        rows.append({"text": f"{filler} was {a} and {b} {rng.choice(['really', 'very', 'quite'])}", "label": lab})
    return rows


@pytest.fixture(scope="module")
def pipeline(tiny_models, tmp_path_factory):
    from codistill.teacher import TeacherConfig, train_teacher
    from tests.conftest import write_jsonl

    root = tmp_path_factory.mktemp("multiclass")
    write_jsonl(root / "data" / "train.jsonl", _rows(180, 1))
    write_jsonl(root / "data" / "test.jsonl", _rows(30, 2))
    data = {"task": "local", "data_dir": str(root / "data"), "validation_size": 30}
    teacher = train_teacher(
        TeacherConfig.from_dict(
            {
                "model": str(tiny_models("bert", head=False)),
                "data": data,
                "output_dir": str(root / "teacher"),
                "train": {
                    "max_steps": 200,
                    "batch_size": 8,
                    "learning_rate": 3e-3,
                    "eval_steps": 100,
                    "logging_steps": 100,
                },
            }
        )
    )
    return root, data, teacher


def test_three_classes_end_to_end(pipeline, tiny_models, tmp_path, monkeypatch):
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals
    from codistill.distill import DistillConfig, DistillSession, distill
    from codistill.experiments.records import ResultStore, RunKey, RunRecord
    from codistill.experiments.report import write_report
    from codistill.experiments.sweep import class_record

    root, data, teacher = pipeline
    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    assert teacher.metrics["test"]["macro_f1"] > 0.6  # the tiny teacher learnt the three classes
    cf = run_counterfactuals(
        CounterfactualConfig.from_dict(
            {
                "data": data,
                "k": 12,
                "seed": 0,
                "teacher": str(teacher.path),
                "output_dir": str(tmp_path / "cf"),
                "cache_dir": str(tmp_path / "cache"),
                "progress": False,
                "report_similarity": False,
            }
        ),
        echo=lambda *_: None,
    )
    assert cf.run["originals"] == 6 and len(cf.records) >= 3
    for r in cf.records:  # verified: the teacher's argmax on the counterfactual is the runner-up class of the original
        p0, p1 = np.asarray(r.teacher_probs_original), np.asarray(r.teacher_probs_counterfactual)
        assert r.counterfactual_label == int(p1.argmax()) == int(np.argsort(-p0)[1]) != r.teacher_label_original
    assert any(op.startswith("mined-") for r in cf.records for op in r.meta["ops"])  # the pool-mined edits at work

    student = tiny_models("bert", head=False, num_layers=2, hidden=16, seed=1)
    store = ResultStore(tmp_path / "results.jsonl")
    for cod in (False, True):
        cfg = DistillConfig.from_dict(
            {
                "data": data,
                "teacher": str(teacher.path),
                "student": {"path": str(student)},
                "k": 12,
                "seed": 0,
                "cod": cod,
                "counterfactuals": str(tmp_path / "cf" / "counterfactuals.jsonl") if cod else None,
                "output_dir": str(tmp_path / f"run{cod}"),
                "train": {"max_steps": 6, "batch_size": 4, "logging_steps": 3},
            }
        )
        result = distill(cfg, session=DistillSession())
        test = result.metrics["test"]
        assert np.asarray(test["confusion_matrix"]).shape == (3, 3) and np.asarray(test["confusion_matrix"]).sum() == 30
        assert len(test["per_class_recall"]) == 3 and 0 <= test["macro_f1"] <= 1
        classes = class_record(test, result.config)
        assert classes["label_names"] == ["people", "praise", "scorn"]
        store.append(
            RunRecord(
                RunKey("local", "kd", cod, 12, 0),
                {"macro_f1": test["macro_f1"], "accuracy": test["accuracy"]},
                classes=classes,
            )
        )
    files = write_report(store.path, tmp_path / "report")
    page = files.html.read_text()
    assert "confusion matrix" in page and "praise" in page
    md = files.markdown.read_text()
    assert "recall per class" in md
    assert json.loads(store.path.read_text().splitlines()[0])["classes"]["confusion_matrix"]
