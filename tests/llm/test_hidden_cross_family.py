"""Hidden-state distillation across model families: depth and width maps, pooling, clear errors."""

import pytest
import torch

from codistill.distill.losses import LossInputs, ModelShapes, make_loss
from codistill.errors import ConfigError


def _shapes(sl, sh, tl, th, same=False):
    return ModelShapes(
        student_layers=sl, student_hidden=sh, teacher_layers=tl, teacher_hidden=th, num_labels=2, same_tokenizer=same
    )


def test_qwen_sized_maps_24_to_28_layers_and_896_to_1536_wide():
    term = make_loss("hidden", pooling="last")
    term.build(_shapes(24, 896, 28, 1536))
    assert len(term.layer_map) == 24 and term.layer_map[24] == 28 and term.layer_map[12] == 14
    assert list(term.layer_map.values()) == sorted(term.layer_map.values())
    proj = term.projections["24"]
    assert (proj.in_features, proj.out_features) == (896, 1536) and len(term.projections) == 24
    # a deeper student than teacher still gets an order-preserving map
    deeper = make_loss("hidden", pooling="mean")
    deeper.build(_shapes(28, 1536, 24, 896))
    assert deeper.layer_map[28] == 24 and deeper.projections["1"].out_features == 896


@pytest.mark.parametrize(
    ("params", "shapes", "message"),
    [
        ({"layer_map": {1: 5}}, _shapes(2, 16, 4, 32), "outside"),
        ({"layer_map": {1: 3, 2: 1}, "pooling": "mean"}, _shapes(2, 16, 4, 32), "crosses"),
        ({"pooling": "tokens"}, _shapes(2, 16, 4, 32, same=False), "same tokenizer"),
        ({"pooling": "mean", "project": False}, _shapes(2, 16, 4, 32), "widths differ"),
    ],
)
def test_impossible_maps_are_clear_errors(params, shapes, message):
    term = make_loss("hidden", **params)
    with pytest.raises(ConfigError, match=message):
        term.build(shapes)


def test_bad_pooling_is_a_config_error():
    with pytest.raises(ConfigError, match="pooling"):
        make_loss("hidden", pooling="max")
    with pytest.raises(ConfigError, match="teacher_pooling"):
        make_loss("hidden", pooling="tokens", teacher_pooling="last")


def test_last_token_pooling_reads_the_last_real_position_with_any_padding():
    torch.manual_seed(0)
    term = make_loss("hidden", pooling="cls", teacher_pooling="last", layer_map={1: 1}, project=False)
    term.build(_shapes(1, 4, 1, 4))
    s = torch.randn(2, 3, 4)
    t = torch.randn(2, 5, 4)
    tmask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])  # left- and right-padded rows
    inputs = LossInputs(
        student_logits=torch.zeros(2, 2),
        labels=torch.zeros(2, dtype=torch.long),
        attention_mask=torch.ones(2, 3, dtype=torch.long),
        student_hidden=(s, s),
        teacher_hidden={1: t},
        teacher_mask=tmask,
    )
    expected = torch.stack([(s[0, 0] - t[0, 4]).pow(2).mean(), (s[1, 0] - t[1, 2]).pow(2).mean()]).mean()
    torch.testing.assert_close(term(inputs), expected)
