import math

import numpy as np
import pytest
import torch

from codistill.distill.losses import LOSSES, LossInputs, ModelShapes, default_layer_map, make_loss
from codistill.distill.losses.functional import generalized_jsd, kl, masked_mse
from codistill.errors import ConfigError


def np_kl(p_logits, q_logits, t=1.0):
    p = np.exp(p_logits / t) / np.exp(p_logits / t).sum(-1, keepdims=True)
    q = np.exp(q_logits / t) / np.exp(q_logits / t).sum(-1, keepdims=True)
    return float((p * np.log(p / q)).sum(-1).mean())


def inputs(teacher, student, labels=None):
    return LossInputs(
        student_logits=torch.tensor(student, dtype=torch.float32),
        labels=torch.tensor(labels if labels is not None else [0] * len(student)),
        attention_mask=torch.ones(len(student), 3, dtype=torch.long),
        teacher_logits=torch.tensor(teacher, dtype=torch.float32),
    )


T = np.array([[2.0, -1.0], [0.3, 0.8], [-1.5, 1.5]])
S = np.array([[0.5, 0.0], [1.0, -0.2], [0.0, 0.4]])


def test_registry_has_every_term():
    assert {"ce", "kd", "reverse_kl", "gjsd", "hidden", "ted"} <= set(LOSSES)


def test_kl_of_identical_distributions_is_zero():
    x = torch.randn(5, 3)
    assert kl(x, x).item() == pytest.approx(0.0, abs=1e-7)
    for name in ("kd", "reverse_kl", "gjsd"):
        assert make_loss(name)(inputs(x.numpy(), x.numpy())).item() == pytest.approx(0.0, abs=1e-6)


def test_kd_is_forward_kl_times_t_squared():
    for t in (1.0, 2.0, 4.0):
        value = make_loss("kd", temperature=t)(inputs(T, S)).item()
        assert value == pytest.approx(t * t * np_kl(T, S, t), rel=1e-5)
    # direction: forward KL(teacher || student), not the reverse
    assert make_loss("kd", temperature=1.0)(inputs(T, S)).item() != pytest.approx(np_kl(S, T), rel=1e-3)


def test_reverse_kl_swaps_the_arguments():
    assert make_loss("reverse_kl", temperature=2.0)(inputs(T, S)).item() == pytest.approx(
        4 * np_kl(S, T, 2.0), rel=1e-5
    )


def test_ce_uses_the_given_label():
    logits = np.array([[1.0, 0.0]])
    ce = make_loss("ce")
    assert ce(inputs(T[:1], logits, [0])).item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    assert ce(inputs(T[:1], logits, [1])).item() == pytest.approx(math.log(1 + math.exp(1)), rel=1e-6)


def test_gjsd_limits_reduce_to_the_kls():
    t, s = torch.tensor(T), torch.tensor(S)
    fwd, rev = np_kl(T, S), np_kl(S, T)
    assert generalized_jsd(t, s, beta=0.0).item() == pytest.approx(fwd, rel=1e-6)
    assert generalized_jsd(t, s, beta=1.0).item() == pytest.approx(rev, rel=1e-6)
    # the normalised family is continuous: its limits are the same KLs
    assert generalized_jsd(t, s, beta=1e-4, normalize=True).item() == pytest.approx(fwd, rel=1e-3)
    assert generalized_jsd(t, s, beta=1 - 1e-4, normalize=True).item() == pytest.approx(rev, rel=1e-3)
    # beta = 0.5 is the ordinary Jensen-Shannon divergence
    p = np.exp(T) / np.exp(T).sum(-1, keepdims=True)
    q = np.exp(S) / np.exp(S).sum(-1, keepdims=True)
    m = (p + q) / 2
    js = float((0.5 * (p * np.log(p / m)).sum(-1) + 0.5 * (q * np.log(q / m)).sum(-1)).mean())
    assert generalized_jsd(t, s, beta=0.5).item() == pytest.approx(js, rel=1e-5)
    assert make_loss("gjsd", beta=0.5, temperature=2.0)(inputs(T, S)).item() == pytest.approx(
        4 * generalized_jsd(t, s, 0.5, 2.0).item(), rel=1e-6
    )


def test_masked_mse_ignores_padding():
    a, b = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    expected = sum(((a[i, j] - b[i, j]) ** 2).sum() for i in range(2) for j in range(4) if mask[i, j]) / (5 * 3)
    assert masked_mse(a, b, mask).item() == pytest.approx(expected.item(), rel=1e-6)
    a2 = a.clone()
    a2[0, 3] += 100.0
    a2[1, 2:] -= 50.0  # only padding positions change
    assert masked_mse(a2, b, mask).item() == pytest.approx(expected.item(), rel=1e-6)


def shapes(**kw):
    return ModelShapes(
        **{"student_layers": 2, "student_hidden": 8, "teacher_layers": 4, "teacher_hidden": 12, "num_labels": 2, **kw}
    )


def hidden_inputs(b=3, t=5):
    mask = torch.ones(b, t, dtype=torch.long)
    mask[0, 3:] = 0
    return LossInputs(
        student_logits=torch.randn(b, 2),
        labels=torch.tensor([0, 1, 0][:b]),
        attention_mask=mask,
        teacher_logits=torch.randn(b, 2),
        student_hidden=tuple(torch.randn(b, t, 8, requires_grad=True) for _ in range(3)),
        teacher_hidden={layer: torch.randn(b, t, 12) for layer in range(5)},
        teacher_mask=mask,
    )


def test_default_layer_map_is_uniform_last_to_last():
    assert default_layer_map(2, 6) == {1: 3, 2: 6}
    assert default_layer_map(2, 4) == {1: 2, 2: 4}


def test_hidden_projections_receive_gradients():
    term = make_loss("hidden")
    term.build(shapes())
    assert term.teacher_layers() == [2, 4] and set(term.projections) == {"1", "2"}
    x = hidden_inputs()
    loss = term(x)
    loss.backward()
    for proj in term.projections.values():
        assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0
    assert x.student_hidden[1].grad.abs().sum() > 0
    # equal widths: no projection, and the loss is the plain masked MSE
    same = make_loss("hidden", layer_map={2: 4})
    same.build(shapes(student_hidden=12))
    assert len(same.projections) == 0
    x = hidden_inputs()
    x.student_hidden = tuple(torch.randn(3, 5, 12) for _ in range(3))
    assert same(x).item() == pytest.approx(
        masked_mse(x.student_hidden[2], x.teacher_hidden[4], x.attention_mask).item()
    )


def test_hidden_token_matching_needs_one_tokenizer():
    with pytest.raises(ConfigError):
        make_loss("hidden", pooling="tokens").build(shapes(same_tokenizer=False))
    make_loss("hidden", pooling="mean").build(shapes(same_tokenizer=False))
    make_loss("hidden").build(shapes(same_tokenizer=False))  # auto: pooled across tokenizers
    with pytest.raises(ConfigError):
        make_loss("hidden", layer_map={3: 1}).build(shapes())


def test_ted_stage1_then_filters_train_with_the_student():
    from torch import nn

    class Student(nn.Module):
        def forward(self, input_ids, attention_mask, output_hidden_states=True):
            torch.manual_seed(1)
            b, t = input_ids.shape
            return type("Out", (), {"hidden_states": tuple(torch.randn(b, t, 8) for _ in range(3))})()

    term = make_loss("ted", filter_steps=20)
    term.build(shapes())
    x = hidden_inputs()
    batch = {
        "input_ids": torch.zeros(3, 5, dtype=torch.long),
        "attention_mask": x.attention_mask,
        "labels": x.labels,
        "teacher_mask": x.teacher_mask,
    }
    with pytest.raises(RuntimeError):
        term(x)
    log = term.fit(batch, x.teacher_hidden, Student(), seed=0)
    assert set(log) == {"teacher_filter_loss", "student_filter_loss"}
    assert all(not p.requires_grad for p in term.teacher_filters.parameters())
    loss = term(x)
    loss.backward()
    assert all(
        f.filter.weight.grad is not None and f.filter.weight.grad.abs().sum() > 0 for f in term.student_filters.values()
    )


def test_bad_terms_are_config_errors():
    with pytest.raises(ConfigError):
        make_loss("nope")
    with pytest.raises(ConfigError):
        make_loss("kd", temperature=0)
    with pytest.raises(ConfigError):
        make_loss("gjsd", beta=2)
    with pytest.raises(ConfigError):
        make_loss("kd", tempreature=2)
