import pytest
import torch
from transformers import AutoModelForSequenceClassification

from codistill.errors import ConfigError
from codistill.models import derive_student, keep_layers, load_classifier, spread_layers
from codistill.models.layer_subset import every_other_layer, layer_prefix


def test_spread_layers():
    assert spread_layers(6, 2) == [0, 5]
    assert spread_layers(6, 3) == [0, 2, 5] or spread_layers(6, 3) == [0, 3, 5]
    assert spread_layers(12, 6) == [0, 2, 4, 7, 9, 11]
    assert spread_layers(4, 4) == [0, 1, 2, 3]
    with pytest.raises(ConfigError):
        spread_layers(4, 5)


def test_every_other_layer_is_distilberts_choice():
    assert every_other_layer(12) == [0, 2, 4, 7, 9, 11]  # DistilBERT's initialisation from BERT-base
    assert len(every_other_layer(6)) == 3 and every_other_layer(6)[0] == 0 and every_other_layer(6)[-1] == 5
    assert every_other_layer(1) == [0]


@pytest.mark.parametrize("arch", ["bert", "deberta-v2", "mpnet", "qwen2"])
def test_kept_layers_carry_the_source_weights(tiny_models, arch):
    source = load_classifier(str(tiny_models(arch, num_layers=4)))
    student = keep_layers(source, [1, 3])
    assert student.config.num_hidden_layers == 2
    src, dst = source.state_dict(), student.state_dict()
    prefix = layer_prefix(list(src))
    for new, old in enumerate([1, 3]):
        for key, value in dst.items():
            if key.startswith(f"{prefix}.{new}."):
                assert torch.equal(value, src[key.replace(f"{prefix}.{new}.", f"{prefix}.{old}.", 1)])
    shared = [k for k in dst if not k.startswith(prefix + ".")]
    assert shared and all(torch.equal(dst[k], src[k]) for k in shared)
    if arch == "qwen2":
        assert len(student.config.layer_types) == 2
    if arch == "mpnet":
        assert prefix == "mpnet.encoder.layer"
        assert torch.equal(
            dst["mpnet.encoder.relative_attention_bias.weight"], src["mpnet.encoder.relative_attention_bias.weight"]
        )


def test_all_layers_kept_is_the_same_function(tiny_models):
    source = load_classifier(str(tiny_models("bert"))).eval()
    copy = keep_layers(source, 4).eval()
    x = {"input_ids": torch.tensor([[2, 40, 41, 3]]) % source.config.vocab_size}
    with torch.no_grad():
        assert torch.allclose(source(**x).logits, copy(**x).logits)


@pytest.mark.parametrize("bad", [[3, 1], [0, 0], [0, 9], []])
def test_bad_indices(tiny_models, bad):
    with pytest.raises(ConfigError):
        keep_layers(load_classifier(str(tiny_models("bert"))), bad)


def test_derived_student_is_a_plain_hf_model(tiny_models, tmp_path):
    out = derive_student(str(tiny_models("deberta-v2")), 2, tmp_path / "student", seed=3)
    reloaded = AutoModelForSequenceClassification.from_pretrained(out)
    assert reloaded.config.num_hidden_layers == 2
    assert reloaded.config.codistill_layer_subset == {"source_layers": 4, "kept": [0, 3]}
    assert (out / "tokenizer.json").is_file() or (out / "vocab.txt").is_file()


@pytest.mark.parametrize("arch", ["bert", "mpnet"])
def test_freeze_bottom_layers_trains_only_the_top(tiny_models, arch):
    from codistill.models.freeze import freeze_bottom_layers

    model = load_classifier(str(tiny_models(arch, num_layers=4)))
    prefix = layer_prefix([n for n, _ in model.named_parameters()])
    frozen = freeze_bottom_layers(model, 3)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad) > 0
    assert all(
        n.startswith((f"{prefix}.3.", "classifier")) or "relative_attention_bias" in n or "pooler" in n
        for n in trainable
    )
    assert any(n.startswith(f"{prefix}.3.") for n in trainable) and any(n.startswith("classifier") for n in trainable)
    assert freeze_bottom_layers(load_classifier(str(tiny_models(arch, num_layers=4))), 0) == 0
