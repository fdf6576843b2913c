"""Teacher fine-tuning of decoder LMs: classification head, verbalizer (prompted or trained), LoRA."""

import json

import numpy as np
import pytest
import torch

from codistill.teacher import TeacherConfig, train_teacher

TRAIN = {
    "max_steps": 30,
    "batch_size": 8,
    "learning_rate": 5e-3,
    "eval_steps": 10,
    "logging_steps": 10,
    "select_best": True,
}


def _config(model, data_config, out, train=None, **extra):
    return TeacherConfig.from_dict(
        {
            "model": str(model),
            "data": data_config.to_dict(),
            "train": {**TRAIN, **(train or {})},
            "output_dir": str(out),
            **extra,
        }
    )


def _reload_logits(path, texts):
    from codistill.evaluation import predict_logits
    from codistill.models import load_scorer

    model, tok, fp = load_scorer(str(path))
    return predict_logits(model, tok, texts), fp


def test_decoder_classifier_pools_the_last_real_token(tiny_lm):
    from codistill.models import load_classifier, load_tokenizer

    path = tiny_lm("llama", causal_lm=False)
    tok = load_tokenizer(str(path))
    model = load_classifier(str(path), tokenizer=tok).eval()
    assert tok.pad_token_id == tok.eos_token_id and model.config.pad_token_id == tok.pad_token_id
    texts = ["good", "the movie was really very dull"]
    with torch.no_grad():
        batched = model(**tok(texts, padding=True, return_tensors="pt")).logits
        for i, t in enumerate(texts):
            torch.testing.assert_close(
                batched[i], model(**tok([t], return_tensors="pt")).logits[0], atol=1e-5, rtol=1e-5
            )


def test_lora_classifier_teacher_saves_adapter_that_reloads(tiny_lm, sentiment_config, tmp_path):
    cfg = _config(
        tiny_lm("qwen2", causal_lm=False),
        sentiment_config,
        tmp_path / "t",
        lora={"r": 4, "alpha": 8},
        train={"learning_rate": 1e-2, "max_steps": 120, "eval_steps": 30},
    )
    result = train_teacher(cfg)
    out = result.path
    assert (out / "adapter_config.json").is_file() and (out / "codistill_adapter.json").is_file()
    assert not (out / "model.safetensors").exists()  # only the adapter (and the trained head)
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and set(adapter["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert result.metrics["validation"]["accuracy"] >= 0.85
    texts = ["the film was great", "the plot was awful and dull"]
    logits, fp = _reload_logits(out, texts)
    assert logits.shape == (2, 2) and len(fp) == 16
    # the reloaded teacher scores validation exactly as the trained one did
    from codistill.data import load_task
    from codistill.evaluation import label_metrics

    data = load_task(sentiment_config)
    val, _ = _reload_logits(out, [e.text for e in data.validation])
    acc = label_metrics([e.label for e in data.validation], val.argmax(-1), ("accuracy",))["accuracy"]
    assert acc == pytest.approx(result.metrics["validation"]["accuracy"])


def test_prompted_verbalizer_teacher_needs_no_training(tiny_lm, sentiment_config, tmp_path, monkeypatch):
    import transformers

    monkeypatch.setattr(transformers.Trainer, "train", lambda *a, **k: pytest.fail("trained"))
    cfg = _config(
        tiny_lm("qwen2"),
        sentiment_config,
        tmp_path / "v",
        head="verbalizer",
        finetune=False,
        verbalizer={"num_demonstrations": 4},
        max_eval_examples=20,
    )
    result = train_teacher(cfg)
    spec = json.loads((result.path / "verbalizer.json").read_text())
    assert len(spec["verbalizer"]["demonstrations"]) == 4
    assert [d["label"] for d in spec["verbalizer"]["demonstrations"]] == [0, 1, 0, 1]  # classes alternate
    assert result.metrics["train_steps"] == 0 and result.metrics["eval_examples"]["validation"] == 20
    logits, _ = _reload_logits(result.path, ["good", "bad"])
    assert np.all(logits < 0)


@pytest.mark.parametrize("lora", [True, False])
def test_verbalizer_teacher_fine_tunes_and_reloads(tiny_lm, sentiment_config, tmp_path, lora):
    train = {"max_steps": 80, "eval_steps": 20, "learning_rate": 3e-2 if lora else 1e-2}
    extra = {"lora": {"r": 8, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}} if lora else {}
    cfg = _config(tiny_lm("llama"), sentiment_config, tmp_path / "vt", head="verbalizer", train=train, **extra)
    result = train_teacher(cfg)
    out = result.path
    assert (out / "adapter" / "adapter_config.json").is_file() == lora
    assert (out / "model.safetensors").is_file() == (not lora)
    # separable data: the label words are learned (LoRA on a random 32-wide LM learns more slowly)
    assert result.metrics["validation"]["accuracy"] >= (0.6 if lora else 0.85)
    assert result.metrics["validation_history"][-1]["eval_loss"] < result.metrics["validation_history"][0]["eval_loss"]
    from codistill.data import load_task

    data = load_task(sentiment_config)
    texts = [e.text for e in data.validation]
    logits, _ = _reload_logits(out, texts)
    acc = float((logits.argmax(-1) == np.array([e.label for e in data.validation])).mean())
    assert acc == pytest.approx(result.metrics["validation"]["accuracy"])
