"""Verbalizer scoring: a causal LM as a classifier through label-word log-probabilities."""

import numpy as np
import pytest
import torch

from codistill.errors import ConfigError
from codistill.models.prompting import Demonstration, VerbalizerConfig
from codistill.models.verbalizer import build_verbalizer

LABELS = ("negative", "positive")


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_logits_are_label_word_logprobs_and_padding_invariant(tiny_lm, arch):
    path = tiny_lm(arch)
    model, tok = build_verbalizer(str(path), VerbalizerConfig(), LABELS)
    texts = ["the film was good", "it was a really very dull and slow movie"]
    enc = tok(texts, padding=True, return_tensors="pt")
    assert tok.padding_side == "left" and enc["attention_mask"][0, 0] == 0  # the short prompt is left-padded
    with torch.no_grad():
        batched = model(**enc).logits
        # reference: the LM's full next-token distribution on each unpadded prompt
        for i, text in enumerate(texts):
            single = tok([text], return_tensors="pt")
            lm_logits = model.lm(**single).logits[0, -1]
            ref = torch.log_softmax(lm_logits, -1)[[tok.base(" " + w)["input_ids"][0] for w in LABELS]]
            torch.testing.assert_close(batched[i], ref, atol=1e-4, rtol=1e-4)
    assert batched.shape == (2, 2) and model.config.num_labels == 2


def test_prompt_template_demonstrations_and_synonyms(tiny_lm):
    path = tiny_lm("qwen2")
    cfg = VerbalizerConfig(
        template="review : {text} sentiment :",
        label_words=[["bad", "awful"], "good"],
        demonstrations=[Demonstration(text="a dull plot", label=0)],
    )
    model, tok = build_verbalizer(str(path), cfg, LABELS)
    prompt, start = tok.prompt("great acting")
    assert prompt == "review : a dull plot sentiment : bad\n\nreview : great acting sentiment :"
    assert prompt[start : start + len("great acting")] == "great acting"
    ids = tok.label_token_ids()
    assert len(ids[0]) == 2 and len(ids[1]) == 1
    with torch.no_grad():
        enc = tok(["great acting"], return_tensors="pt")
        lp = torch.log_softmax(model.lm(**enc).logits[0, -1], -1)
        expected = torch.logsumexp(lp[ids[0]], 0)
        torch.testing.assert_close(model(**enc).logits[0, 0], expected, atol=1e-5, rtol=1e-5)


def test_text_truncation_keeps_the_prompt_and_offsets_point_into_the_text(tiny_lm):
    _, tok = build_verbalizer(str(tiny_lm("qwen2")), VerbalizerConfig(), LABELS)
    long = " ".join(["good"] * 50)
    enc = tok([long], truncation=True, max_length=5, return_offsets_mapping=True)
    assert tok.base.decode(enc["input_ids"][0]) == "Review: " + " ".join(["good"] * 5) + "\nSentiment:"
    spans = [(a, b) for a, b in enc["offset_mapping"][0] if b > a]
    assert len(spans) == 5 and all(long[a:b].strip() == "good" for a, b in spans)


def test_chat_template_and_clear_errors(tiny_lm):
    path = str(tiny_lm("qwen2"))
    _, tok = build_verbalizer(path, VerbalizerConfig(chat=True, system_prompt="be brief"), LABELS)
    prompt, _ = tok.prompt("good")
    assert prompt == "system: be brief\nuser: Review: good\nSentiment:\nassistant:"
    with pytest.raises(ConfigError, match="share a first token"):
        build_verbalizer(path, VerbalizerConfig(label_words=[["good"], ["good"]]), LABELS)
    with pytest.raises(ConfigError, match="label word lists"):
        build_verbalizer(path, VerbalizerConfig(label_words=[["good"]]), LABELS)
    with pytest.raises(Exception, match="must contain"):
        VerbalizerConfig(template="no placeholder")


def test_predict_logits_and_signal_cache_need_no_special_case(tiny_lm):
    from codistill.distill.signals import TeacherSignals
    from codistill.evaluation import predict_logits

    model, tok = build_verbalizer(str(tiny_lm("llama")), VerbalizerConfig(), LABELS)
    texts = ["good film", "a dull and weak story", "it was fine"]
    logits = predict_logits(model, tok, texts, batch_size=2)
    signals = TeacherSignals(model, tok, "fp", 32, cache_dir=False)
    np.testing.assert_allclose(signals.logits(texts), logits, atol=1e-4)
    assert np.all(logits <= 0)  # log-probabilities
