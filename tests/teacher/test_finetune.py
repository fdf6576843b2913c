import json

import pytest
import torch
from safetensors.torch import load_file

from codistill.teacher import TeacherConfig, train_teacher


def _config(model_dir, data_dir, out, **train):
    settings = {"max_steps": 40, "batch_size": 8, "learning_rate": 1e-2, "eval_steps": 10, "logging_steps": 10, **train}
    return TeacherConfig.from_dict(
        {
            "model": str(model_dir),
            "data": {"task": "local", "data_dir": str(data_dir), "validation_size": 40},
            "train": settings,
            "output_dir": None if out is None else str(out),
        }
    )


@pytest.fixture(scope="module")
def trained(tiny_models, tmp_path_factory):
    # one real training run shared by the tests that only inspect or reuse its output
    from tests.conftest import synthetic_sentiment, write_jsonl

    root = tmp_path_factory.mktemp("teacher")
    write_jsonl(root / "data" / "train.jsonl", synthetic_sentiment(240, seed=1))
    write_jsonl(root / "data" / "test.jsonl", synthetic_sentiment(60, seed=2))
    cfg = _config(tiny_models("bert", head=False), root / "data", root / "teacher")
    return cfg, train_teacher(cfg)


def test_trains_selects_on_validation_and_saves_everything(trained):
    cfg, result = trained
    out = result.path
    assert not result.cached
    for name in ("model.safetensors", "config.json", "teacher_config.yaml", "metrics.json", "README.md"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"accuracy", "macro_f1"}
    assert metrics["validation"]["accuracy"] >= 0.9  # separable synthetic data
    history = metrics["validation_history"]
    assert [h["step"] for h in history] == [10, 20, 30, 40]
    best = max(h["eval_accuracy"] for h in history)
    assert metrics["selected_step"] == next(h["step"] for h in history if h["eval_accuracy"] == best)
    assert TeacherConfig.from_yaml(out / "teacher_config.yaml") == cfg
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "pipeline_tag: text-classification" in card and "## Test metrics" in card
    assert not list(out.parent.glob(".teacher.*"))  # no temporary directories left behind


def test_second_call_is_served_from_cache(trained, monkeypatch):
    cfg, first = trained
    import transformers

    monkeypatch.setattr(transformers.Trainer, "train", lambda *a, **k: pytest.fail("retrained"))
    again = train_teacher(cfg)
    assert again.cached and again.metrics == first.metrics


def test_changed_inputs_or_force_retrain(trained, monkeypatch):
    cfg, _ = trained
    import transformers

    calls = []
    original = transformers.Trainer.train
    monkeypatch.setattr(transformers.Trainer, "train", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    train_teacher(cfg.with_overrides(["train.max_steps=10", "train.eval_steps=5"]))
    train_teacher(cfg.with_overrides(["train.max_steps=10", "train.eval_steps=5"]), force=True)
    assert len(calls) == 2


def test_same_seed_is_bit_exact(tiny_models, sentiment_dir, tmp_path):
    model = tiny_models("bert", head=False)
    a = train_teacher(_config(model, sentiment_dir, tmp_path / "a", max_steps=12, eval_steps=6))
    b = train_teacher(_config(model, sentiment_dir, tmp_path / "b", max_steps=12, eval_steps=6))
    wa, wb = load_file(a.path / "model.safetensors"), load_file(b.path / "model.safetensors")
    assert wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
    assert a.metrics["test"] == b.metrics["test"]


def test_failure_leaves_nothing_half_written(tiny_models, sentiment_dir, tmp_path, monkeypatch):
    import transformers

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(transformers.Trainer, "train", boom)
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_teacher(_config(tiny_models("bert", head=False), sentiment_dir, out))
    assert not out.exists() and not list(tmp_path.glob(".crashed*"))


@pytest.mark.parametrize("arch", ["deberta-v2", "qwen2"])
def test_other_architectures_train(tiny_models, sentiment_dir, tmp_path, arch):
    result = train_teacher(_config(tiny_models(arch), sentiment_dir, tmp_path / arch, max_steps=6, eval_steps=3))
    assert 0.0 <= result.metrics["test"]["accuracy"] <= 1.0 and result.metrics["train_steps"] == 6


def test_default_output_goes_to_cache_home(tiny_models, sentiment_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    cfg = _config(tiny_models("bert", head=False), sentiment_dir, None, max_steps=4, eval_steps=2)
    result = train_teacher(cfg)
    assert result.path.parent == tmp_path / "home" / "teachers"
    assert train_teacher(cfg).cached


def test_a_teacher_near_chance_is_saved_with_a_warning(tiny_models, sentiment_dir, tmp_path, monkeypatch, capsys):
    import numpy as np

    import codistill.evaluation as evaluation
    from codistill.teacher.finetune import chance_warnings

    assert chance_warnings([0, 1, 0, 1], [1, 1, 1, 1], 2) and not chance_warnings([0, 1, 0, 1], [0, 1, 0, 1], 2)
    # a teacher that says "positive" to everything
    monkeypatch.setattr(
        evaluation, "predict_logits", lambda model, tok, texts, **kw: np.tile([0.0, 1.0], (len(texts), 1))
    )
    result = train_teacher(
        _config(tiny_models("bert", head=False), sentiment_dir, tmp_path / "t", max_steps=2, eval_steps=1)
    )
    assert result.metrics["warnings"] and "predicts only 1 of 2 classes" in result.metrics["warnings"][0]
    from codistill.cli import main

    capsys.readouterr()
    assert main(["teacher", "--config", str(tmp_path / "t" / "teacher_config.yaml")]) == 0
    assert "warning: this teacher predicts only 1 of 2 classes" in capsys.readouterr().err


def test_freeze_layers_keeps_the_bottom_of_the_teacher(tiny_models, sentiment_dir, tmp_path):
    source = tiny_models("mpnet", num_layers=4)
    cfg = _config(source, sentiment_dir, tmp_path / "t", max_steps=4, eval_steps=2).with_overrides({"freeze_layers": 3})
    before, after = load_file(source / "model.safetensors"), load_file(train_teacher(cfg).path / "model.safetensors")
    assert all(
        torch.equal(before[k], after[k]) for k in after if ".layer.0." in k or ".layer.2." in k or "embeddings" in k
    )
    assert not all(torch.equal(before[k], after[k]) for k in after if ".layer.3." in k)


def test_score_teacher_warns_from_validation_only_and_skips_a_missing_test_split(monkeypatch):
    from types import SimpleNamespace

    import numpy as np

    import codistill.evaluation as evaluation
    from codistill.data.schema import Example
    from codistill.teacher.fit import score_teacher

    scored = []

    def constant(model, tok, texts, progress=None, **kw):  # "positive" for everything
        scored.append((progress, len(texts)))
        return np.tile([0.0, 1.0], (len(texts), 1))

    monkeypatch.setattr(evaluation, "predict_logits", constant)
    validation = [Example(id=f"v{i}", text=f"text {i}", label=i % 2) for i in range(10)]
    task = SimpleNamespace(metrics=["accuracy"])
    cfg = TeacherConfig.from_dict({"model": "m", "data": {"task": "sst2"}, "max_eval_examples": 6})
    for test, want in (([], []), (validation[:4], [("test", 4)])):
        scored.clear()
        data = SimpleNamespace(validation=validation, test=test, task=task, num_labels=2)
        scores = score_teacher(cfg, None, None, data)
        assert scored == [("validation", 6), *want]  # validation subsampled to max_eval_examples
        assert scores.validation == {"accuracy": 0.5}
        assert (scores.test == {}) == (not test)
        assert len(scores.warnings) == 1 and "predicts only 1 of 2 classes" in scores.warnings[0]


def test_training_shows_one_bar_not_raw_log_dicts(tiny_models, sentiment_dir, tmp_path, capsys):
    # transformers' own callbacks print {'loss': ...} dicts and nested evaluation bars; a teacher
    # shows one step bar with the latest loss
    train_teacher(
        _config(tiny_models("bert"), sentiment_dir, tmp_path / "t", max_steps=6, eval_steps=3, logging_steps=2)
    )
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "fine-tuning teacher" in printed and "loss=" in printed
    assert "{'loss'" not in printed and "'train_runtime'" not in printed and "'eval_loss'" not in printed
