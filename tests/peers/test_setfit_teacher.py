"""``codistill teacher --method setfit``: a SetFit teacher from k texts, used by distill end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("setfit")

from tests.peers.setfit_helpers import make_tiny_sentence_encoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return str(make_tiny_sentence_encoder(tmp_path_factory.mktemp("st-teacher-encoder"), seed=3))


def test_cli_fits_a_setfit_teacher_that_distill_uses(sentiment_dir, encoder, tiny_models, tmp_path):
    from typer.testing import CliRunner

    from codistill.cli import app
    from codistill.data import DataConfig, load_task, sample
    from codistill.distill import distill
    from codistill.distill.config import DistillConfig
    from codistill.models.loading import load_scorer

    out = tmp_path / "teacher"
    result = CliRunner().invoke(
        app,
        [
            "teacher",
            "--method",
            "setfit",
            "-m",
            encoder,
            "--k",
            "8",
            "--seed",
            "1",
            "--task",
            "local",
            "--data-dir",
            str(sentiment_dir),
            "-o",
            str(out),
            "--set",
            "setfit.num_iterations=2",
            "--set",
            "train.max_length=32",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    data = load_task(DataConfig(task="local", data_dir=str(sentiment_dir)))
    assert metrics["train_ids"] == [e.id for e in sample(data, 8, 1).examples]  # the student's k texts of seed 1
    assert (out / "model_head.pkl").is_file() and (out / "teacher_config.yaml").is_file()

    from setfit import SetFitModel  # a plain SetFit directory: loads without codistill

    texts = ["the film was good", "the plot was awful", "it was boring and dull"]
    proba = np.asarray(SetFitModel.from_pretrained(str(out)).predict_proba(texts))
    model, tokenizer, _ = load_scorer(str(out), role="teacher")
    import torch

    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")).logits
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), proba, atol=1e-5)

    student = tiny_models("bert", num_layers=2, hidden=16)
    run = distill(
        DistillConfig.from_dict(
            {
                "data": {"task": "local", "data_dir": str(sentiment_dir)},
                "teacher": str(out),
                "k": 8,
                "seed": 1,
                "save_model": False,
                "student": {"derive": {"source": str(student), "layers": 1}},
                "train": {"max_steps": 2, "batch_size": 4},
            }
        )
    )
    assert run.metrics["signals"]["max_length"] == 32 and 0.0 <= run.metrics["test"]["agreement"] <= 1.0

    # the counterfactual verifier reads it too: probabilities, gradient saliency, a bf16 screening copy
    from codistill.counterfactuals.text import tokenize
    from codistill.counterfactuals.verify import TeacherVerifier

    verifier = TeacherVerifier(str(out))
    assert verifier.max_length == 32
    np.testing.assert_allclose(verifier.probs(texts), proba, atol=1e-5)
    saliency = verifier.word_saliency(texts, [tokenize(t) for t in texts], verifier.probs(texts).argmax(-1).tolist())
    assert [len(s) for s in saliency] == [len(tokenize(t)) for t in texts] and all(
        np.abs(s).sum() > 0 for s in saliency
    )
    np.testing.assert_allclose(verifier.screening_copy().probs(texts), proba, atol=0.05)


def test_the_setfit_fields_leave_finetuned_teachers_cache_keys_alone(sentiment_dir):
    from codistill.data import DataConfig, load_task
    from codistill.teacher.config import TeacherConfig
    from codistill.teacher.finetune import teacher_fingerprint

    data = load_task(DataConfig(task="local", data_dir=str(sentiment_dir)))
    base = {"data": {"task": "local", "data_dir": str(sentiment_dir)}}
    plain = teacher_fingerprint(TeacherConfig.from_dict(base), data, "m")
    dump = TeacherConfig.from_dict(base).model_dump(
        mode="json", exclude={"output_dir": True, "train": {"report_to", "run_name", "logging_dir"}}
    )
    for name in ("method", "k", "setfit"):
        dump.pop(name)
    from codistill import __version__
    from codistill.teacher.finetune import TEACHER_CACHE_SCHEMA
    from codistill.utils.hashing import fingerprint

    # what a fine-tuned teacher's key was before the setfit method existed
    assert plain == fingerprint(
        {
            "config": dump,
            "data": data.fingerprint,
            "model": "m",
            "codistill": __version__,
            "cache_schema": TEACHER_CACHE_SCHEMA,
        }
    )
    assert teacher_fingerprint(TeacherConfig.from_dict({**base, "k": 64}), data, "m") == plain
    setfit = teacher_fingerprint(TeacherConfig.from_dict({**base, "method": "setfit"}), data, "m")
    assert setfit != plain and setfit != teacher_fingerprint(
        TeacherConfig.from_dict({**base, "method": "setfit", "k": 8}), data, "m"
    )
