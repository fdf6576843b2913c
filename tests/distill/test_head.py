"""The student's head: fitted as a linear probe on frozen features before training (head_probe)."""

import numpy as np
import pytest
import torch

from codistill.distill import DistillSession, distill
from codistill.distill.head import fit_probe_head, head_features, output_layer, reinit_head
from codistill.evaluation.fidelity import softmax
from codistill.models import load_classifier, load_tokenizer

TEXTS = [
    "good film",
    "bad film",
    "a great movie",
    "awful plot",
    "fine acting",
    "dull and bad",
    "great fun",
    "not good",
    "the best",
    "the worst",
    "good good",
    "bad bad",
]


@pytest.mark.parametrize("arch", ["bert", "deberta-v2", "mpnet", "qwen2"])
def test_probe_fits_only_the_output_layer_to_the_teachers_probabilities(tiny_models, arch):
    path = str(tiny_models(arch, head=False))
    tokenizer = load_tokenizer(path)
    model = load_classifier(path, tokenizer=tokenizer)
    reinit_head(model, 0)
    # teacher logits that a linear map of the student's own features realises exactly
    feats = head_features(model, tokenizer, TEXTS, max_length=16)
    assert feats.shape == (len(TEXTS), output_layer(model).in_features)
    rng = np.random.default_rng(0)
    teacher = feats @ rng.normal(size=(feats.shape[1], 2)) * 3.0
    teacher -= teacher.mean(0)  # both classes present
    assert len(set(teacher.argmax(-1))) == 2
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit = fit_probe_head(model, tokenizer, TEXTS, teacher, max_length=16, l2=0.0)
    layer_names = {n for n, p in model.named_parameters() if any(p is q for q in output_layer(model).parameters())}
    after = model.state_dict()
    for key, value in before.items():
        if key in layer_names:
            assert not torch.equal(value, after[key]), key
        else:
            assert torch.equal(value, after[key]), key  # encoder and other head layers untouched
    model.eval()
    with torch.no_grad():
        batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=16, return_tensors="pt")
        logits = model(**batch).logits.double().numpy()
    # the model's own forward (its pooling included) reproduces the teacher's decisions and probabilities
    assert fit["agreement"] == 1.0 and (logits.argmax(-1) == teacher.argmax(-1)).all()
    assert np.abs(softmax(logits) - softmax(teacher)).max() < 0.05


def test_l2_shrinks_the_probe(tiny_models):
    path = str(tiny_models("bert", head=False))
    tokenizer = load_tokenizer(path)
    model = load_classifier(path, tokenizer=tokenizer)
    teacher = np.array([[4.0, -4.0], [-4.0, 4.0]] * 6)
    loose = fit_probe_head(model, tokenizer, TEXTS, teacher, max_length=16, l2=0.0)["weight_norm"]
    tight = fit_probe_head(model, tokenizer, TEXTS, teacher, max_length=16, l2=1.0)["weight_norm"]
    assert tight < loose


def test_distill_fits_the_probe_on_the_training_texts_and_teacher_logits(base_config, monkeypatch):
    import codistill.distill.run as run

    calls = []
    real = run.fit_probe_head

    def spy(model, tokenizer, texts, teacher_logits, **kwargs):
        calls.append((list(texts), np.array(teacher_logits)))
        return real(model, tokenizer, texts, teacher_logits, **kwargs)

    monkeypatch.setattr(run, "fit_probe_head", spy)
    session = DistillSession()
    cfg = base_config.with_overrides(["save_model=false", "student.head_probe=true", "student.reinit_head=true"])
    first = distill(cfg, session=session).metrics
    ((texts, logits),) = calls
    assert first["head_probe"]["texts"] == len(texts) == first["train_set"]["size"]
    assert np.allclose(logits, session.teacher(cfg.teacher, None, True, 2).logits(texts))
    again = distill(cfg, session=session).metrics  # deterministic: the same seed gives the same run
    assert again["head_probe"] == first["head_probe"] and again["test"] == first["test"]
    plain = distill(
        base_config.with_overrides(["save_model=false", "student.reinit_head=true"]), session=session
    ).metrics
    assert plain["head_probe"] is None and len(calls) == 2 and plain["test"] != first["test"]
