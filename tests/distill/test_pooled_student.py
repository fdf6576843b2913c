"""Pooled students through distill: KD and KD+CoD, SetFit directory output, evaluate, contrastive stage."""

import json

import numpy as np
import pytest
import torch

from codistill.distill import DistillSession, distill


@pytest.fixture(scope="module")
def st_encoder(tmp_path_factory):
    from codistill.testing import make_tiny_sentence_encoder

    return make_tiny_sentence_encoder(tmp_path_factory.mktemp("st") / "enc", normalize=True)


def _pooled(base_config, st_encoder, **student):
    return base_config.with_overrides({"student": {"kind": "pooled", "path": str(st_encoder), **student}})


@pytest.mark.parametrize("cod", [False, True])
def test_pooled_student_distills_and_saves_a_setfit_directory(base_config, st_encoder, cf_file, cod):
    from setfit import SetFitModel

    from codistill.models.pooled import PooledClassifier

    cfg = _pooled(base_config, st_encoder).with_overrides(
        {"recipe": "kd", "cod": cod, "counterfactuals": str(cf_file) if cod else None}
    )
    result = distill(cfg, session=DistillSession(), keep_model=True)
    m = result.metrics
    assert isinstance(result.student, PooledClassifier)
    assert m["train_steps"] == 6 and m["student_source"]["pooled"] is True
    assert m["train_set"]["counterfactuals"] == (4 if cod else 0)
    out = result.output_dir
    for f in (
        "modules.json",
        "1_Pooling/config.json",
        "2_Normalize",
        "config_setfit.json",
        "model_head.pkl",
        "README.md",
        "metrics.json",
    ):
        assert (out / f).exists(), f
    assert json.loads((out / "sentence_bert_config.json").read_text())["max_seq_length"] == cfg.train.max_length
    texts = ["the film was good and great", "awful boring dull mess"]
    from codistill.evaluation import predict_logits
    from codistill.models import load_tokenizer

    ours = predict_logits(result.student, load_tokenizer(str(out)), texts, max_length=cfg.train.max_length)
    probs = SetFitModel.from_pretrained(str(out), device="cpu").predict_proba(texts).cpu().numpy()
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(ours), -1).numpy(), atol=1e-5)
    assert "SetFitModel.from_pretrained" in (out / "README.md").read_text()


def test_pooled_student_trains_the_encoder_and_the_head(base_config, st_encoder):
    from codistill.models.pooled import build_pooled

    result = distill(
        _pooled(base_config, st_encoder).with_overrides({"save_model": False}),
        session=DistillSession(),
        keep_model=True,
    )
    initial, _ = build_pooled(str(st_encoder), 2)
    trained = result.student.state_dict()
    layer = "encoder.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(trained[layer], initial.state_dict()[layer])


def test_hidden_state_terms_work_on_a_teacher_derived_pooled_student(base_config, tiny_dir):
    cfg = base_config.with_overrides(
        {"recipe": "lwd", "save_model": False, "student": {"kind": "pooled", "derive": {"source": "teacher"}}}
    )
    result = distill(cfg, session=DistillSession(), keep_model=True)
    assert result.metrics["student_info"]["num_layers"] == 2  # every other layer of the 4-layer teacher
    assert result.metrics["student_source"] == {
        "kind": "teacher",
        "name": str(tiny_dir / "teacher"),
        "layers": None,
        "pooled": True,
        "pooling": "auto",
        "normalize": None,
    }
    logged = {k for h in result.metrics["loss_history"] for k in h}
    assert any(k.startswith("loss_") and k != "loss_kd" for k in logged)


def test_evaluate_accepts_a_saved_pooled_student_as_student_and_teacher(base_config, st_encoder, data_config, tiny_dir):
    from codistill.distill.config import EvaluateConfig
    from codistill.distill.evaluate import evaluate

    result = distill(_pooled(base_config, st_encoder), session=DistillSession())
    saved = str(result.output_dir)
    record = evaluate(
        EvaluateConfig(data=data_config, teacher=str(tiny_dir / "teacher"), student=saved, split="validation"),
        session=DistillSession(),
    )
    assert record["validation"]["accuracy"] == pytest.approx(result.metrics["validation"]["accuracy"])
    assert record["validation"]["agreement"] == pytest.approx(result.metrics["validation"]["agreement"])
    again = distill(
        base_config.with_overrides({"student": {"path": saved}, "save_model": False}),
        session=DistillSession(),
        keep_model=True,
    )
    assert again.metrics["student_source"]["pooled"] is True  # a saved pooled student continues as one, its head kept
    mirror = evaluate(
        EvaluateConfig(data=data_config, teacher=saved, student=saved, split="validation"), session=DistillSession()
    )
    assert mirror["validation"]["agreement"] == 1.0


def test_contrastive_stage_is_seeded_and_changes_the_embeddings(base_config, st_encoder, cf_file):
    cfg = _pooled(
        base_config, st_encoder, contrastive={"pairs_per_text": 4, "epochs": 1, "learning_rate": 1e-3, "batch_size": 8}
    )
    cfg = cfg.with_overrides({"cod": True, "counterfactuals": str(cf_file), "save_model": False, "train.max_steps": 1})
    a = distill(cfg, session=DistillSession(), keep_model=True)
    b = distill(cfg, session=DistillSession(), keep_model=True)
    report = a.metrics["contrastive"]
    # the tiny random teacher may give every text one label (then no negatives): partners are tested below
    assert report["positives"] == 8 * 2 and report["pairs"] in (8 * 2, 8 * 4) and report["steps"] >= 2
    sa, sb = a.student.state_dict(), b.student.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    plain = distill(
        _pooled(base_config, st_encoder).with_overrides(
            {"cod": True, "counterfactuals": str(cf_file), "save_model": False, "train.max_steps": 1}
        ),
        session=DistillSession(),
        keep_model=True,
    )
    layer = "encoder.encoder.layer.1.output.dense.weight"
    assert not torch.equal(sa[layer], plain.student.state_dict()[layer])
    c = distill(cfg.with_overrides({"seed": 1}), session=DistillSession(), keep_model=True)
    assert not torch.equal(sa[layer], c.student.state_dict()[layer])


def test_sample_pairs_puts_counterfactual_partners_among_the_negatives():
    from codistill.distill.contrastive import sample_pairs

    labels = [0, 1, 1, 0]  # 0-1 and 2-3 are original/counterfactual pairs
    pairs = sample_pairs(labels, [[1], [0], [3], [2]], [4] * 4, seed=0)
    negatives = {(int(a), int(b)) for a, b, t in zip(pairs.a, pairs.b, pairs.target) if t == 0}
    assert {(0, 1), (1, 0), (2, 3), (3, 2)} <= negatives
    assert all(labels[a] == labels[b] for a, b, t in zip(pairs.a, pairs.b, pairs.target) if t == 1)
    assert all(labels[a] != labels[b] for a, b, t in zip(pairs.a, pairs.b, pairs.target) if t == 0)


def test_pooling_overrides_reach_the_student_and_its_saved_directory(base_config, st_encoder):
    from codistill.models.pooled import PoolingSpec, read_pooling

    cfg = _pooled(base_config, st_encoder, pooling="max", normalize=False)
    result = distill(cfg, session=DistillSession(), keep_model=True)
    assert result.student.pooling == PoolingSpec("max", False)
    assert read_pooling(result.output_dir) == PoolingSpec("max", False)  # the encoder's own is mean + Normalize
    assert not (result.output_dir / "2_Normalize").exists()


def test_pooled_config_rejects_lora_and_contrastive_without_pooling():
    from codistill.distill.config import StudentConfig

    with pytest.raises(ValueError, match="lora"):
        StudentConfig(kind="pooled", path="x", lora={})
    with pytest.raises(ValueError, match="pooled"):
        StudentConfig(path="x", contrastive={})
    with pytest.raises(ValueError, match="pooled"):
        StudentConfig(path="x", pooling="mean")


def test_cli_distills_a_pooled_student_and_evaluates_its_directory(base_config, st_encoder, tmp_path, capsys):
    from codistill.cli import main

    path = tmp_path / "recipe.yaml"
    base_config.save(path)
    out = tmp_path / "cli-pooled"
    code = main(
        [
            "distill",
            "--config",
            str(path),
            "--student",
            str(st_encoder),
            "--set",
            "student.kind=pooled",
            f"output_dir={out}",
        ]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (out / "model_head.pkl").is_file() and (out / "modules.json").is_file()
    assert main(["evaluate", "--student", str(out)]) == 0  # teacher and data from the saved distill_config.yaml
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test"]["accuracy"] == pytest.approx(record["test"]["accuracy"])


def test_contrastive_pair_budget_follows_k_not_the_number_of_texts():
    from codistill.distill.contrastive import pair_counts, sample_pairs

    # KD: 8 originals; KD+CoD full: the same 8 originals + 8 counterfactuals -> the same 160 pairs
    kd = pair_counts(8, 20 * 8)
    cod = pair_counts(16, 20 * 8)
    assert sum(kd) == sum(cod) == 160 and max(cod) - min(cod) <= 1
    labels = [0, 1] * 8
    partners = [[i + 1] if i % 2 == 0 else [i - 1] for i in range(16)]
    pairs = sample_pairs(labels, partners, cod, seed=0)
    assert len(pairs.a) == 160
    assert pairs.counterfactual_negatives > 0


def test_kd_and_kd_cod_take_the_same_contrastive_steps(base_config, st_encoder, cf_file):
    cfg = _pooled(
        base_config, st_encoder, contrastive={"pairs_per_text": 4, "epochs": 1, "learning_rate": 1e-3, "batch_size": 8}
    )
    cfg = cfg.with_overrides({"save_model": False, "train.max_steps": 1})
    kd = distill(cfg, session=DistillSession()).metrics
    cod = distill(cfg.with_overrides({"cod": True, "counterfactuals": str(cf_file)}), session=DistillSession()).metrics
    assert cod["train_set"]["counterfactuals"] > 0
    assert kd["contrastive"]["budget_pairs"] == cod["contrastive"]["budget_pairs"] == 4 * cfg.k
    if (
        kd["contrastive"]["pairs"] == cod["contrastive"]["pairs"]
    ):  # (a tiny random teacher may leave a label without partners)
        assert kd["contrastive"]["steps"] == cod["contrastive"]["steps"]
