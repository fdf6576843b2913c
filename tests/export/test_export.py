"""ONNX export of tiny classifiers and tiny SetFit (pooled) directories, checked against PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from codistill.cli import main  # noqa: E402
from codistill.export import OnnxClassifier, export_onnx, load_exportable  # noqa: E402
from codistill.export.check import torch_logits  # noqa: E402

TEXTS = [
    "the film was good",
    "bad",
    "it was really awful and boring",
    "a great movie",
    "the plot was dull",
    "i loved it",
] * 3


@pytest.fixture(scope="module")
def setfit_dir(tmp_path_factory):
    """A SetFit directory as the setfit library saves one: tiny BERT body, mean pooling, SetFitHead."""
    setfit = pytest.importorskip("setfit")
    import torch
    from sentence_transformers import SentenceTransformer, models

    from codistill.testing import make_tiny_model

    body_dir = make_tiny_model("bert", tmp_path_factory.mktemp("body"), head=False)
    torch.manual_seed(0)
    transformer = models.Transformer(str(body_dir), max_seq_length=64)
    pooling = models.Pooling(32, pooling_mode="mean")
    body = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    head = setfit.SetFitHead(in_features=32, out_features=2, device="cpu")
    with torch.no_grad():
        head.linear.weight.mul_(50)  # clear margins, so the comparison is not about ties
    model = setfit.SetFitModel(model_body=body, model_head=head, normalize_embeddings=True, labels=["neg", "pos"])
    out = tmp_path_factory.mktemp("setfit")
    model.save_pretrained(str(out))
    return out


def onnx_logits(result, found, name="model.onnx"):
    return OnnxClassifier(result.path / name, found.tokenizer, found.max_length).logits(TEXTS)


def test_classifier_logits_match_torch(tiny_models, tmp_path):
    model_dir = tiny_models("bert")
    result = export_onnx(model_dir, tmp_path / "out", TEXTS)
    found = load_exportable(model_dir)
    reference = torch_logits(found.module, found.tokenizer, found.input_names, TEXTS, found.max_length)
    np.testing.assert_allclose(onnx_logits(result, found), reference, atol=1e-4)
    assert result.agreement == {"model.onnx": 1.0}
    meta = json.loads((tmp_path / "out" / "export.json").read_text())
    assert meta["kind"] == "classifier" and meta["label_names"] == ["LABEL_0", "LABEL_1"] and meta["max_length"] == 128
    assert (tmp_path / "out" / "tokenizer.json").is_file() and "onnxruntime" in (
        tmp_path / "out" / "README.md"
    ).read_text()


def test_setfit_directory_matches_setfit_predictions(setfit_dir, tmp_path):
    from setfit import SetFitModel

    result = export_onnx(setfit_dir, tmp_path / "out", TEXTS)
    found = load_exportable(setfit_dir)
    logits = onnx_logits(result, found)
    expected = SetFitModel.from_pretrained(str(setfit_dir), device="cpu").predict_proba(TEXTS, as_numpy=True)
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), expected, atol=1e-4)
    assert len(set(expected.argmax(-1))) == 2  # both labels occur: agreement is not trivially one class
    meta = result.meta
    assert meta["kind"] == "pooled" and meta["label_names"] == ["neg", "pos"] and meta["max_length"] == 64
    assert meta["pooling"] == {"mode": "mean", "normalize": True}


def test_int8_runs_and_its_agreement_is_recorded(tiny_models, tmp_path):
    result = export_onnx(tiny_models("bert"), tmp_path / "out", TEXTS, int8=True, min_agreement=0.0)
    assert set(result.agreement) == {"model.onnx", "model.int8.onnx"}
    assert 0.0 <= result.agreement["model.int8.onnx"] <= 1.0 and result.max_abs_diff["model.int8.onnx"] > 0
    meta = json.loads((tmp_path / "out" / "export.json").read_text())
    assert meta["check"]["agreement"]["model.int8.onnx"] == result.agreement["model.int8.onnx"]
    assert (tmp_path / "out" / "model.int8.onnx").stat().st_size < (tmp_path / "out" / "model.onnx").stat().st_size


def test_cli_exports_on_the_test_split(tiny_models, sentiment_dir, tmp_path, capsys):
    code = main(
        [
            "export",
            str(tiny_models("bert")),
            "-o",
            str(tmp_path / "out"),
            "--data-dir",
            str(sentiment_dir),
            "--task",
            "local",
            "-q",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "agreement 1.0000 with PyTorch on 60 local test texts" in out
    assert json.loads((tmp_path / "out" / "export.json").read_text())["check"]["texts"] == 60


def test_noisy_export_is_refused_naming_the_agreement(tiny_models, tmp_path, monkeypatch, capsys):
    import codistill.export.api as api

    original = api.trace

    def noisy_trace(found, path, exporter, opset):
        import torch

        inner = found.module

        class Noisy(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, *inputs):
                logits = self.inner(*inputs)
                return logits + 100 * torch.randn_like(logits)  # noise drawn inside the graph

        original(type(found)(**{**found.__dict__, "module": Noisy()}), path, exporter, opset)

    monkeypatch.setattr(api, "trace", noisy_trace)
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 5))
    code = main(["export", str(tiny_models("bert")), "-o", str(tmp_path / "out"), "--texts", str(texts), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "export refused: model.onnx agrees with the PyTorch model on" in err and "of 90 texts of texts.jsonl" in err
    agreement = float(err.split("on ")[1].split("%")[0])
    assert agreement < 99
    assert not (tmp_path / "out").exists()


def test_no_texts_is_a_clear_error(tiny_models, tmp_path, capsys):
    assert main(["export", str(tiny_models("bert")), "-o", str(tmp_path / "out")]) == 2
    assert "--texts FILE, --task or --data-dir" in capsys.readouterr().err


def test_readme_snippet_runs_with_onnxruntime_alone(tiny_models, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    export_onnx(tiny_models("bert"), out, TEXTS)
    readme = (out / "README.md").read_text()
    code = readme.split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(out)
    exec(compile(code, "README.md", "exec"), {})  # the snippet imports neither torch nor transformers
    printed = capsys.readouterr().out
    found = load_exportable(tiny_models("bert"))
    snippet_texts = ["a gripping, beautifully acted film", "dull and far too long"]
    logits = OnnxClassifier(out / "model.onnx", found.tokenizer, found.max_length).logits(snippet_texts)
    assert printed.strip() == str([["LABEL_0", "LABEL_1"][i] for i in logits.argmax(-1)])
