"""Pooled sentence-encoder students: pooling as sentence-transformers does it, SetFit directories."""

import json

import numpy as np
import pytest
import torch

TEXTS = ["the film was good and great", "bad", "awful boring dull mess of a film", "fine"]


@pytest.fixture(scope="module")
def encoder_dirs(tmp_path_factory):
    from codistill.testing import make_tiny_sentence_encoder

    root = tmp_path_factory.mktemp("st")
    return {
        (mode, norm): make_tiny_sentence_encoder(root / f"{mode}-{norm}", pooling=mode, normalize=norm)
        for mode, norm in (("mean", True), ("mean", False), ("cls", False), ("max", False), ("lasttoken", False))
    }


def _embed(model, tokenizer, texts):
    enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        return model.embed(**enc)[0].numpy()


@pytest.mark.parametrize("key", [("mean", True), ("mean", False), ("cls", False), ("max", False), ("lasttoken", False)])
def test_pooled_features_match_sentence_transformers(encoder_dirs, key):
    from sentence_transformers import SentenceTransformer

    from codistill.models.pooled import build_pooled, read_pooling

    path = encoder_dirs[key]
    assert read_pooling(path).mode == key[0] and read_pooling(path).normalize == key[1]
    model, tokenizer = build_pooled(str(path), 2)
    model.eval()
    ours = _embed(model, tokenizer, TEXTS)
    theirs = SentenceTransformer(str(path), device="cpu").encode(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    if key[1]:
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_forward_returns_classifier_output_with_hidden_states(encoder_dirs):
    from codistill.models.pooled import build_pooled

    model, tokenizer = build_pooled(str(encoder_dirs[("mean", False)]), 3, ("a", "b", "c"), layers=1)
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    out = model(**enc, labels=torch.tensor([0, 1, 2, 0]), output_hidden_states=True)
    assert out.logits.shape == (4, 3) and out.loss is not None
    assert len(out.hidden_states) == 2 and model.config.num_hidden_layers == 1  # embeddings + the one kept layer
    assert model(**enc).hidden_states is None


def test_unknown_pooling_is_a_clear_error(tmp_path):
    from codistill.errors import AssetError
    from codistill.models.pooled import read_pooling
    from codistill.testing import make_tiny_sentence_encoder

    path = make_tiny_sentence_encoder(tmp_path / "enc")
    config = json.loads((path / "1_Pooling" / "config.json").read_text())
    config["pooling_mode_mean_sqrt_len_tokens"] = True
    (path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    with pytest.raises(AssetError, match="supported"):
        read_pooling(path)
    assert read_pooling(tmp_path) is None  # no modules.json: not a sentence-transformers directory


def _trained_like(path, normalize_seed=3):
    from codistill.models.pooled import build_pooled

    model, tokenizer = build_pooled(str(path), 2, ("negative", "positive"))
    torch.manual_seed(normalize_seed)
    with torch.no_grad():  # a head far from its init, so a wrong save shows
        model.classifier.weight.normal_(0, 3.0)
        model.classifier.bias.normal_(0, 1.0)
    model.max_seq_length = 32
    return model.eval(), tokenizer


@pytest.mark.parametrize("normalize", [True, False])
def test_saved_directory_loads_in_setfit_with_the_same_probabilities(encoder_dirs, tmp_path, normalize):
    from setfit import SetFitModel

    from codistill.evaluation import predict_logits
    from codistill.models.pooled import is_pooled_directory, load_pooled

    model, tokenizer = _trained_like(encoder_dirs[("mean", normalize)])
    out = tmp_path / "saved"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    assert is_pooled_directory(out)
    ours = predict_logits(model, tokenizer, TEXTS, max_length=32)
    setfit = SetFitModel.from_pretrained(str(out), device="cpu")
    probs = setfit.predict_proba(TEXTS).cpu().numpy()
    expected = torch.softmax(torch.from_numpy(ours), -1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    labels = setfit.predict(TEXTS)
    assert list(labels) == [("negative", "positive")[i] for i in ours.argmax(-1)]
    again, tok = load_pooled(out, num_labels=2)
    np.testing.assert_allclose(predict_logits(again, tok, TEXTS, max_length=32), ours, atol=1e-5)
    assert again.max_seq_length == 32 and again.pooling == model.pooling
