"""Exactly your k texts: every one trained on, no pool, optional test/validation, unlabeled texts labelled by the teacher."""

from __future__ import annotations

import json

import pytest
from tests.distill.conftest import NEG, POS


def _rows(n, start=0):
    return [
        {
            "text": f"the film was {(POS if i % 2 else NEG)[i % 12]} and {(POS if i % 2 else NEG)[(i + 3) % 12]} {i}",
            "label": "positive" if i % 2 else "negative",
        }
        for i in range(start, start + n)
    ]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _config(tiny_dir, tmp_path, **data):
    from codistill.distill import DistillConfig

    return DistillConfig(
        data=data,
        teacher=str(tiny_dir / "teacher"),
        student={"path": str(tiny_dir / "student")},
        output_dir=str(tmp_path / "run"),
        keep_non_flips=True,
    ).with_overrides(["train.max_steps=4", "train.batch_size=4", "train.select_best=true"])


def test_a_training_file_trains_on_exactly_its_texts(tiny_dir, tmp_path, monkeypatch):
    from codistill.distill import distill

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    train = _write(tmp_path / "my6.jsonl", _rows(6))
    m = distill(_config(tiny_dir, tmp_path, train_file=str(train))).metrics
    assert m["k"] == 6 and m["train_set"]["texts"] == "all"
    assert m["train_set"]["ids"] == [f"train-{i}" for i in range(6)]  # all of them, in file order: no draw, no carve
    assert "test" not in m and "validation" not in m  # neither given: no metrics invented
    assert "unlabeled" not in m and m["measured_on"].startswith("nothing to measure on")  # and the record says so
    assert m["selection"].startswith("none: no validation texts") and m["selected_step"] is None
    assert (tmp_path / "run" / "metrics.json").exists()


def test_optional_test_validation_and_unlabeled(tiny_dir, tmp_path, monkeypatch):
    from codistill.distill import distill

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    files = {
        "train_file": _write(tmp_path / "train.jsonl", _rows(4)),
        "test_file": _write(tmp_path / "test.jsonl", _rows(6, 10)),
        "validation_file": _write(tmp_path / "val.jsonl", _rows(4, 20)),
        "unlabeled_file": _write(tmp_path / "more.jsonl", [{"text": r["text"]} for r in _rows(5, 30)]),
    }
    m = distill(_config(tiny_dir, tmp_path, **{k: str(v) for k, v in files.items()})).metrics
    assert m["k"] == 4 and m["train_set"]["unlabeled"] == 5 and m["train_set"]["size"] == 9
    assert m["test"]["n"] == 6 and m["validation"]["n"] == 4
    assert m["selection"] == "best validation step"
    unlabeled = m["unlabeled"]  # agreement with the teacher on the unlabeled texts, saying which and how many
    assert unlabeled["n"] == 5 and 0.0 <= unlabeled["agreement"] <= 1.0 and unlabeled["kl_teacher_student"] >= 0.0
    assert "trained on" in unlabeled["texts"] and "measured_on" not in m


def test_counterfactuals_for_each_own_text_and_paper_mode_is_refused(tiny_dir, tmp_path, monkeypatch):
    from codistill.counterfactuals import CounterfactualRecord
    from codistill.distill.run import Distiller
    from codistill.errors import ConfigError

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    rows = _rows(4)
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    cfs = [
        CounterfactualRecord(f"train-{i}", t.replace("film", "movie"), 0, original_text=t) for i, t in enumerate(texts)
    ]
    cfg = _config(tiny_dir, tmp_path).model_copy(update={"cod": True, "cod_mode": "full", "save_model": False})
    more = [r["text"] for r in _rows(3, 40)]
    m = Distiller(cfg, train=texts, labels=labels, counterfactuals=cfs, unlabeled=more).train().metrics
    assert m["train_set"]["originals"] == 4 and m["train_set"]["counterfactuals"] == 4 and m["method"] == "kd+cod-full"
    assert "test" not in m and m["unlabeled"]["n"] == 3 and 0.0 <= m["unlabeled"]["agreement"] <= 1.0  # no test file
    with pytest.raises(ConfigError, match="cod_mode=paper"):
        Distiller(cfg.model_copy(update={"cod_mode": "paper"}), train=texts, labels=labels, counterfactuals=cfs).train()


def test_label_names_come_from_the_file_or_the_option(tmp_path):
    from codistill.data import DataConfig, load_task

    named = load_task(DataConfig(train_file=str(_write(tmp_path / "a.jsonl", _rows(4)))))
    assert named.task.label_names == ("negative", "positive") and not named.notes
    ids = _write(tmp_path / "b.jsonl", [{"text": f"t {i}", "label": i % 3} for i in range(6)])
    bare = load_task(DataConfig(train_file=str(ids)))
    assert bare.task.label_names == ("0", "1", "2") and "give names" in bare.notes[0]
    given = load_task(DataConfig(train_file=str(ids), label_names=["ask", "tell", "other"]))
    assert given.task.label_names == ("ask", "tell", "other") and [e.label for e in given.pool] == [0, 1, 2, 0, 1, 2]


def test_cli_own_texts_print_config_without_inputs_and_cod_mode(tiny_dir, tmp_path, monkeypatch, capsys):
    from codistill.cli import main

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    assert main(["distill", "--print-config", "--cod-mode", "multi"]) == 0  # no --teacher needed to see the config
    printed = capsys.readouterr().out
    assert "cod_mode: multi" in printed and "teacher: null" in printed
    rows = [{"review": r["text"], "y": 0 if r["label"] == "negative" else 1} for r in _rows(4)]
    train = _write(tmp_path / "mine.jsonl", rows)
    out = tmp_path / "cli-own"
    code = main(
        [
            "distill",
            "--train",
            str(train),
            "--text-column",
            "review",
            "--label-column",
            "y",
            "--label-names",
            "neg,pos",
            "--teacher",
            str(tiny_dir / "teacher"),
            "--student",
            str(tiny_dir / "student"),
            "-o",
            str(out),
            "--quiet",
            "--set",
            "train.max_steps=2",
            "--set",
            "train.batch_size=4",
        ]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["k"] == 4 and record["train_set"]["ids"] == ["train-0", "train-1", "train-2", "train-3"]
    assert (out / "model.safetensors").is_file()
