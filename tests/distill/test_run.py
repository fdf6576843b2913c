"""End-to-end distillation on tiny models (a few seconds per run on 2 CPU cores)."""

import json

import numpy as np
import pytest
import torch

from codistill.distill import DistillSession, distill


@pytest.mark.parametrize("recipe", ["kd", "lwd", "ted"])
def test_each_recipe_end_to_end_with_counterfactuals(recipe, base_config, cf_file, tmp_path):
    cfg = base_config.with_overrides({"recipe": recipe, "cod": True, "counterfactuals": str(cf_file)})
    if recipe == "ted":
        cfg = cfg.with_overrides(
            {"losses": [{"name": "ce"}, {"name": "kd", "weight": 20}, {"name": "ted", "filter_steps": 5}]}
        )
    result = distill(cfg, session=DistillSession())
    m = result.metrics
    assert m["train_steps"] == 6
    assert m["train_set"]["originals"] == 4 and m["train_set"]["counterfactuals"] == 4 and m["train_set"]["size"] == 8
    for split in ("validation", "test"):
        for key in ("accuracy", "macro_f1", "mcc", "agreement", "kl_teacher_student", "ece"):
            assert 0 <= m[split][key] or key == "mcc"
    pairs = m["counterfactual_pairs"]
    assert pairs["pairs"] > 0 and 0 <= pairs["flip_consistency"] <= 1
    names = {s["name"] for s in m["losses"]}
    logged = {k[len("loss_") :] for h in m["loss_history"] for k in h if k.startswith("loss_")}
    assert names == logged  # every term logged separately
    out = result.output_dir
    for f in ("model.safetensors", "config.json", "metrics.json", "README.md", "distill_config.yaml", "tokenizer.json"):
        assert (out / f).is_file(), f
    assert json.loads((out / "metrics.json").read_text())["test"] == m["test"]
    if recipe == "ted":
        assert set(m["stage1"]["ted"]) == {"teacher_filter_loss", "student_filter_loss"}


def test_rerun_with_a_seed_is_bit_exact(base_config, cf_file):
    cfg = base_config.with_overrides(
        {"recipe": "lwd", "cod": True, "counterfactuals": str(cf_file), "save_model": False}
    )
    a = distill(cfg, session=DistillSession(), keep_model=True)
    b = distill(cfg, session=DistillSession(), keep_model=True)
    sa, sb = a.student.state_dict(), b.student.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.metrics["test"] == b.metrics["test"]
    c = distill(cfg.with_overrides({"seed": 1}), session=DistillSession(), keep_model=True)
    assert not all(torch.equal(sa[k], c.student.state_dict()[k]) for k in sa)


def test_no_teacher_forward_once_signals_are_cached(base_config, cf_file):
    session = DistillSession()
    cfg = base_config.with_overrides(
        {"recipe": "lwd", "cod": True, "counterfactuals": str(cf_file), "save_model": False}
    )
    distill(cfg, session=session)
    signals = next(iter(session._teachers.values()))

    def boom(*args, **kwargs):
        raise AssertionError("the teacher ran")

    signals.model.forward = boom
    # another recipe, the baseline budget (a superset of the CoD originals is new text: use
    # the same cod budget) and more steps: everything comes from the cache
    again = distill(cfg.with_overrides({"recipe": "kd", "train.max_steps": 8}), session=session)
    assert again.metrics["train_steps"] == 8


def test_originals_and_counterfactuals_share_batches(base_config, cf_file, monkeypatch):
    from codistill.distill.trainer import DistillTrainer

    seen = []
    original = DistillTrainer.compute_loss

    def spy(self, model, inputs, *args, **kwargs):
        if model.training:
            seen.append((inputs["pair_id"].tolist(), inputs["is_counterfactual"].tolist()))
        return original(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(DistillTrainer, "compute_loss", spy)
    cfg = base_config.with_overrides(
        {
            "cod": True,
            "counterfactuals": str(cf_file),
            "k": 16,
            "train.batch_size": 4,
            "train.max_steps": 8,
            "save_model": False,
        }
    )
    distill(cfg, session=DistillSession())
    assert len(seen) == 8
    for pair_ids, is_cf in seen:
        assert len(pair_ids) == 4
        for pid in set(pair_ids):  # each pair complete: its original and its counterfactual
            members = [c for p, c in zip(pair_ids, is_cf) if p == pid]
            assert sorted(members) == [0, 1]


def test_half_control_and_selection_on_validation(base_config):
    cfg = base_config.with_overrides(
        {
            "cod": True,
            "save_model": False,
            "train.select_best": True,
            "train.eval_steps": 3,
            "select_metric": "agreement",
        }
    )
    result = distill(cfg, session=DistillSession())
    m = result.metrics
    assert m["method"] == "kd+half" and m["train_set"]["size"] == 4 and m["train_set"]["counterfactuals"] == 0
    assert m["selected_step"] in (3, 6)
    assert [h["step"] for h in m["validation_history"]] == [3, 6]
    assert all("eval_agreement" in h for h in m["validation_history"])
    best = max(h["eval_agreement"] for h in m["validation_history"])
    assert m["validation"]["agreement"] == pytest.approx(best)


def test_cli_distill_and_evaluate(base_config, cf_file, tmp_path, capsys):
    from codistill.cli import main

    path = tmp_path / "recipe.yaml"
    base_config.save(path)
    out = tmp_path / "cli-run"
    code = main(["distill", "--config", str(path), "--counterfactuals", str(cf_file), "recipe=kd", f"output_dir={out}"])
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["method"] == "kd+cod" and (out / "model.safetensors").is_file()
    code = main(["evaluate", "--student", str(out), "--counterfactuals", str(cf_file)])
    assert code == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test"]["accuracy"] == pytest.approx(record["test"]["accuracy"])
    assert evaluated["test"]["agreement"] == pytest.approx(record["test"]["agreement"])
    assert evaluated["counterfactual_pairs"]["pairs"] > 0
    assert main(["distill", "--config", str(path), "recipe=nope"]) == 2


def test_other_architectures_and_tokenizers(tiny_dir, data_config, tmp_path, monkeypatch, cf_file):
    """DeBERTa-v2 teacher -> Qwen2 student (different tokenizers, widths, depths): hidden and
    TED terms compare mean-pooled states; everything else is unchanged."""
    from codistill.distill import DistillConfig
    from codistill.testing import make_tiny_model

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    teacher = make_tiny_model("deberta-v2", tmp_path / "deberta", num_layers=3, hidden=32)
    student = make_tiny_model("qwen2", tmp_path / "qwen", num_layers=2, hidden=16)
    cfg = DistillConfig(
        data=data_config,
        teacher=str(teacher),
        student={"path": str(student)},
        k=8,
        cod=True,
        counterfactuals=str(cf_file),
        save_model=False,
        keep_non_flips=True,
        losses=[
            {"name": "ce"},
            {"name": "kd", "weight": 20},
            {"name": "hidden", "pooling": "mean"},
            {"name": "ted", "pooling": "mean", "filter_steps": 3},
        ],
    ).with_overrides(["train.max_steps=4", "train.batch_size=4", "train.logging_steps=2"])
    m = distill(cfg, session=DistillSession()).metrics
    assert m["train_steps"] == 4 and {"loss_hidden", "loss_ted"} <= set(m["loss_history"][-1])
    assert np.isfinite(m["train_loss"])


def test_exact_step_budget_when_counterfactuals_are_missing(base_config, cf_file, task_data, tmp_path):
    """Two pairs and four lone originals pack into 3 batches in epoch 0 and 2 in later epochs
    (seed 3, batch 4); HF fixes the epoch length from epoch 0, yet every run, of both arms,
    takes exactly train.max_steps optimizer steps."""
    from codistill.counterfactuals import read_counterfactuals, write_counterfactuals
    from codistill.data import sample

    originals = sample(task_data, 12, 3, cod=True).ids
    records = [r for r in read_counterfactuals(cf_file) if r.original_id in originals[:2]]
    partial = write_counterfactuals(tmp_path / "partial.jsonl", records)
    session = DistillSession()
    for cod, cfs in ((True, str(partial)), (False, None)):
        cfg = base_config.with_overrides(
            {
                "cod": cod,
                "counterfactuals": cfs,
                "k": 12,
                "seed": 3,
                "train.batch_size": 4,
                "train.max_steps": 12,
                "save_model": False,
                "keep_non_flips": True,
            }
        )
        result = distill(cfg, session=session)
        assert result.metrics["train_steps"] == 12, (cod, result.metrics["train_steps"])
        if cod:
            assert result.metrics["train_set"]["counterfactuals"] == 2


def test_contrast_pairs_in_distill_and_evaluate(base_config, tmp_path, capsys):
    """A gold contrast file is scored after training and by ``evaluate --contrast``; a bad one
    fails with exit 2 before any training."""
    from codistill.cli import main
    from codistill.distill import distill

    pairs = [
        {
            "original": "the film was good and great really fine",
            "counterfactual": "the film was bad and awful really poor",
            "label": 1,
            "counterfactual_label": 0,
        },
        {
            "original": "the film was dull and weak",
            "counterfactual": "the film was charming and moving",
            "label": "negative",
            "counterfactual_label": "positive",
        },
        {"original": "loved it", "counterfactual": "hated it", "label": 1, "counterfactual_label": 0},
    ]
    contrast = tmp_path / "contrast.jsonl"
    contrast.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    cfg = base_config.with_overrides([f"eval.contrast={contrast}"])
    m = distill(cfg).metrics
    c = m["contrast"]
    assert c["pairs"] == 3 and set(c) >= {
        "accuracy_original",
        "accuracy_counterfactual",
        "consistency",
        "vs_teacher",
        "teacher",
    }
    assert c["consistency"] <= min(c["accuracy_original"], c["accuracy_counterfactual"])
    code = main(["evaluate", "--student", cfg.output_dir, "--contrast", str(contrast)])
    captured = capsys.readouterr()
    assert code == 0 and "contrast   original=" in captured.err
    evaluated = json.loads(captured.out.strip().splitlines()[-1])
    assert evaluated["contrast"]["consistency"] == pytest.approx(c["consistency"])
    assert evaluated["contrast"]["vs_teacher"] == pytest.approx(c["vs_teacher"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"original": "x", "counterfactual": "y", "label": 1}\n')
    path = tmp_path / "cfg.yaml"
    base_config.save(path)
    assert main(["distill", "--config", str(path), f"eval.contrast={bad}", f"output_dir={tmp_path / 'never'}"]) == 2
    assert "missing counterfactual_label" in capsys.readouterr().err and not (tmp_path / "never").exists()
