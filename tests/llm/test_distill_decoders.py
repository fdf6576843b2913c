"""Distillation and counterfactual verification with decoder teachers and LoRA students."""

import json

import numpy as np
import pytest
import torch

from codistill.distill import DistillConfig, distill
from codistill.distill.session import DistillSession
from codistill.models.prompting import VerbalizerConfig
from codistill.models.verbalizer import save_verbalizer

LABELS = ("negative", "positive")


@pytest.fixture(scope="module")
def verbalizer_teacher(tiny_lm, tmp_path_factory):
    root = tmp_path_factory.mktemp("vteacher")
    save_verbalizer(
        root,
        base=str(tiny_lm("llama")),
        config=VerbalizerConfig(template="Review: {text}\nSentiment:"),
        label_names=LABELS,
        adapter=False,
    )
    return root


def _config(teacher, student, data_config, out, **extra):
    return DistillConfig.from_dict(
        {
            "data": data_config.to_dict(),
            "teacher": str(teacher),
            "student": {"path": str(student)},
            "k": 8,
            "seed": 0,
            "output_dir": str(out),
            "train": {"max_steps": 6, "batch_size": 4, "logging_steps": 3, "select_best": False},
            **extra,
        }
    )


def test_verbalizer_teacher_into_lora_qwen_student_with_hidden_maps(
    verbalizer_teacher, tiny_lm, sentiment_config, tmp_path
):
    from codistill.models import load_scorer

    student = tiny_lm("qwen2", causal_lm=False, num_layers=2, hidden=16)
    cfg = _config(
        verbalizer_teacher,
        student,
        sentiment_config,
        tmp_path / "run",
        losses=[{"name": "ce"}, {"name": "kd", "weight": 20}, {"name": "hidden", "pooling": "last"}],
    ).with_overrides({"student.lora": {"r": 2, "alpha": 4}})
    result = distill(cfg, session=DistillSession())
    m = result.metrics
    # LoRA: only adapters, the head and the hidden projections train
    assert m["trainable_parameters"] < 0.2 * m["student_info"]["parameters"]
    assert {"loss_hidden", "loss_kd"} <= set(m["loss_history"][-1]) and np.isfinite(m["train_loss"])
    assert m["test"]["teacher"]["accuracy"] >= 0 and 0 <= m["test"]["agreement"] <= 1
    # exported merged: a plain transformers classifier, no adapter files, same predictions
    out = result.output_dir
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    model, tok, _ = load_scorer(str(out))
    assert not any("lora" in n for n, _ in model.named_parameters())
    from codistill.data import load_task
    from codistill.evaluation import predict_logits

    test = load_task(sentiment_config).test
    preds = predict_logits(model, tok, [e.text for e in test]).argmax(-1)
    assert float((preds == np.array([e.label for e in test])).mean()) == pytest.approx(m["test"]["accuracy"])


def test_lora_student_adapter_saves_and_reloads(verbalizer_teacher, tiny_lm, sentiment_config, tmp_path):
    from codistill.distill.config import EvaluateConfig
    from codistill.distill.evaluate import evaluate

    student = tiny_lm("qwen2", causal_lm=False, num_layers=2, hidden=16)
    cfg = _config(verbalizer_teacher, student, sentiment_config, tmp_path / "ad").with_overrides(
        {"student.lora": {"r": 2}, "student.save_adapter": True}
    )
    session = DistillSession()
    m = distill(cfg, session=session).metrics
    out = tmp_path / "ad"
    assert (out / "adapter_model.safetensors").is_file() and json.loads((out / "codistill_adapter.json").read_text())[
        "base"
    ] == str(student)
    record = evaluate(
        EvaluateConfig(data=sentiment_config, teacher=str(verbalizer_teacher), student=str(out)), session=session
    )
    assert record["test"]["accuracy"] == pytest.approx(m["test"]["accuracy"])
    assert record["test"]["agreement"] == pytest.approx(m["test"]["agreement"])


def test_save_adapter_needs_a_saved_base():
    with pytest.raises(Exception, match="save_adapter"):
        DistillConfig.from_dict({"teacher": "x", "student": {"lora": {"r": 2}, "save_adapter": True}})


def test_counterfactual_verification_through_the_verbalizer(verbalizer_teacher):
    from codistill.counterfactuals.text import tokenize
    from codistill.counterfactuals.verify import TeacherVerifier, judge

    verifier = TeacherVerifier(str(verbalizer_teacher))
    texts = ["the film was good", "the film was awful", "the film was good"]
    probs = verifier.probs(texts)
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1) and np.allclose(probs[0], probs[2])
    # the verdict is the verbalizer's own argmax over label words
    with torch.no_grad():
        enc = verifier.tokenizer(texts[:2], padding=True, return_tensors="pt")
        expected = verifier.model(**enc).logits.argmax(-1).tolist()
    verdicts = judge(texts[:2], probs[:2], original_label=expected[0])
    assert [v.label for v in verdicts] == expected and verdicts[0].flipped is False
    # gradient-x-input saliency maps back onto the words of the text, not the prompt
    tokens = [tokenize(x) for x in texts[:2]]
    saliency = verifier.word_saliency(texts[:2], tokens, expected)
    assert [len(s) for s in saliency] == [4, 4] and all(np.all(s != 0) for s in saliency)


def test_fingerprint_without_loading_matches_the_loaded_one(verbalizer_teacher):
    from codistill.models import load_scorer
    from codistill.models.loading import scorer_fingerprint

    assert scorer_fingerprint(str(verbalizer_teacher)) == load_scorer(str(verbalizer_teacher))[2]
