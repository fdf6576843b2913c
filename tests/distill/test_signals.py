import numpy as np
import pytest
import torch

from codistill.distill.signals import TeacherSignals

TEXTS = [
    "the film was good",
    "a boring and dull mess",
    "great",
    "not very funny but charming in the end",
    "the film was good",
]


@pytest.fixture()
def teacher(tiny_dir):
    from codistill.models import load_classifier, load_tokenizer

    tok = load_tokenizer(str(tiny_dir / "teacher"))
    return load_classifier(str(tiny_dir / "teacher"), tokenizer=tok), tok


def fresh(model, tok, text):
    with torch.no_grad():
        out = model(**tok([text], return_tensors="pt"), output_hidden_states=True)
    return out.logits[0].numpy(), [h[0].numpy() for h in out.hidden_states]


def test_cached_signals_equal_a_fresh_teacher_forward(teacher, tmp_path):
    model, tok = teacher
    signals = TeacherSignals(model, tok, "fp", 64, cache_dir=tmp_path)
    hidden = signals.hidden(TEXTS, [0, 2, 4])
    logits = signals.logits(TEXTS)  # stored with the hidden states: no second forward
    assert signals.stats["computed"] == 4  # the duplicate text is computed once
    assert signals.stats["memory"] == 4
    for i, text in enumerate(TEXTS):
        f_logits, f_hidden = fresh(model, tok, text)
        np.testing.assert_allclose(logits[i], f_logits, atol=1e-5)
        assert hidden[i].shape == (3, len(tok(text)["input_ids"]), 32)
        for j, layer in enumerate([0, 2, 4]):
            np.testing.assert_allclose(hidden[i][j].astype(np.float32), f_hidden[layer], atol=2e-2, rtol=1e-2)

    # a new instance on the same directory serves everything from disk, no teacher forward
    def boom(*a, **k):
        raise AssertionError("teacher forward")

    again = TeacherSignals(model, tok, "fp", 64, cache_dir=tmp_path)
    again.model.forward = boom
    np.testing.assert_array_equal(again.logits(TEXTS), logits)
    for a, b in zip(again.hidden(TEXTS, [0, 2, 4]), hidden):
        np.testing.assert_array_equal(a, b)
    assert again.stats["computed"] == 0 and again.stats["disk"] == 8  # 4 texts, two requests


def test_cache_is_keyed_by_max_length_and_fingerprint(teacher, tmp_path):
    model, tok = teacher
    a = TeacherSignals(model, tok, "fp", 64, cache_dir=tmp_path)
    a.logits(TEXTS)
    b = TeacherSignals(model, tok, "fp", 3, cache_dir=tmp_path)
    b.logits(TEXTS)
    assert b.stats["computed"] == 4  # truncation changes the signal: new entries
    c = TeacherSignals(model, tok, "other", 64, cache_dir=tmp_path)
    c.logits(TEXTS)
    assert c.stats["computed"] == 4


def test_memory_only_cache(teacher):
    model, tok = teacher
    s = TeacherSignals(model, tok, "fp", 64, cache_dir=False)
    s.logits(TEXTS[:2])
    s.logits(TEXTS[:2])
    assert s.store is None and s.stats["computed"] == 2 and s.stats["memory"] == 2
