"""The explanation grid loads its task teacher with the task's label count (any number of classes)."""

from __future__ import annotations

import json

import numpy as np


def _jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_grid_loads_a_three_class_teacher(tiny_models, tmp_path, monkeypatch):
    import codistill.explanations.run as explain_run
    import codistill.explanations.seq2seq as seq2seq
    from codistill.experiments.explain_sweep import run_explain_grid
    from codistill.explanations.config import ExplainConfig, ExplainDistillConfig

    names = ["praise", "scorn", "neutral"]
    rows = [{"text": f"the film was {w} {i}", "label": names[i % 3]} for i, w in enumerate(["good", "bad", "fine"] * 8)]
    _jsonl(tmp_path / "data" / "train.jsonl", rows)
    _jsonl(tmp_path / "data" / "test.jsonl", rows[:6])
    teacher = tiny_models("bert", num_labels=3)
    explanations = tmp_path / "explanations"
    explanations.mkdir()
    data = {"task": "local", "data_dir": str(tmp_path / "data"), "validation_size": 3}
    ExplainConfig.from_dict({"data": data, "teacher": str(teacher), "k": 6}).save(explanations / "config.yaml")
    (explanations / "explanations.jsonl").write_text("")

    seen = []

    def fake_distill(cfg, *, verifier, student_model, echo):  # the grid's own work, not a student's training
        seen.append(verifier.probs(["the film was good"]))
        return {
            "metrics": {"accuracy": 0.5},
            "timings": {"seconds_per_step": 0.1},
            "alpha": cfg.alpha,
            "lora": False,
            "train_steps": 1,
            "explanation_source": "teacher",
            "written": [],
        }

    monkeypatch.setattr(explain_run, "distill_explanations", fake_distill)
    monkeypatch.setattr(seq2seq, "load_student", lambda name: object())
    base = ExplainDistillConfig.from_dict({"explanations": str(explanations), "student": "unused"})
    records = run_explain_grid(base, ["task"], [6], [0], tmp_path / "grid.jsonl", echo=lambda *a: None)
    assert len(records) == 1 and len(seen) == 1
    probs = np.asarray(seen[0])
    assert probs.shape == (1, 3) and np.isclose(probs.sum(), 1.0)  # the teacher's three classes
