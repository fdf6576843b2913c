"""Explanation students: targets per mode, the alpha-weighted loss, and that the explanation
prefixes are really learned (a tiny Qwen2 overfits the teacher's rationales)."""

from __future__ import annotations

import pytest
import torch

from codistill.explanations.config import ExplainDistillConfig, PromptsConfig
from codistill.explanations.generate import generate_explanations
from codistill.explanations.record import ExplanationRecord
from codistill.explanations.student import EXPLANATION, TASK, mixed_loss, sequences_for


def quiet(*args, **kwargs):
    pass


RECORD = ExplanationRecord(
    id="a",
    text="a dull film",
    teacher_label=0,
    rationale='negative: "dull"',
    counterfactual='"a dull film" -> "a vivid film" would be positive',
    counterfactual_text="a vivid film",
    counterfactual_label=1,
)


@pytest.mark.parametrize(
    "mode,kinds",
    [
        ("task", [TASK]),
        ("rationale", [TASK, EXPLANATION]),
        ("counterfactual", [TASK, EXPLANATION]),
        ("both", [TASK, EXPLANATION, EXPLANATION]),
    ],
)
def test_each_mode_has_its_targets_behind_their_prefixes(mode, kinds):
    p = PromptsConfig()
    seqs = sequences_for(RECORD, mode, p, ["negative", "positive"], 0)
    assert [k for k, _ in seqs] == kinds
    assert seqs[0][1].prompt == p.task.replace("{text}", "a dull film") and seqs[0][1].response == "negative"
    responses = {s.response for _, s in seqs[1:]}
    assert (
        responses == {RECORD.rationale, RECORD.counterfactual} if mode == "both" else len(responses) == len(kinds) - 1
    )


def test_missing_explanations_leave_the_task_target_only():
    bare = ExplanationRecord(id="b", text="x", teacher_label=1)
    assert [k for k, _ in sequences_for(bare, "both", PromptsConfig(), ["negative", "positive"], 1)] == [TASK]


def test_loss_is_alpha_task_plus_one_minus_alpha_explanation():
    per_seq = torch.tensor([1.0, 3.0, 2.0, 6.0])
    kind = torch.tensor([TASK, TASK, EXPLANATION, EXPLANATION])
    assert mixed_loss(per_seq, kind, 0.25).item() == pytest.approx(0.25 * 2.0 + 0.75 * 4.0)
    assert mixed_loss(per_seq[:2], kind[:2], 0.25).item() == pytest.approx(0.25 * 2.0)  # no explanations in the batch


@pytest.fixture
def explanations(explain_config, keyword_teacher):
    return generate_explanations(
        explain_config.with_overrides({"eval_examples": 4}), verifier=keyword_teacher, echo=quiet
    )


@pytest.fixture
def student(tiny_models):
    from codistill.testing import LLM_WORDS, TINY_WORDS

    return tiny_models("qwen2", causal_lm=True, words=(*TINY_WORDS, *LLM_WORDS), num_layers=2)


def _config(explanations, student, **overrides):
    values = {
        "explanations": str(explanations.output_dir),
        "student": str(student),
        "k": 8,
        "seed": 0,
        "explain_eval_examples": 4,
        "max_new_tokens": 12,
        "train": {"max_steps": 4, "batch_size": 4, "learning_rate": 1e-3, "select_best": False},
    }
    values.update(overrides)
    return ExplainDistillConfig.from_dict(values)


def _weights(result):
    return torch.cat([p.detach().flatten() for p in result["_student"].parameters()])


def test_alpha_one_ignores_the_explanations_and_runs_reproduce(explanations, student, keyword_teacher):
    from codistill.explanations.run import distill_explanations

    task = distill_explanations(
        _config(explanations, student, mode="task"), verifier=keyword_teacher, keep_model=True, echo=quiet
    )
    again = distill_explanations(
        _config(explanations, student, mode="task"), verifier=keyword_teacher, keep_model=True, echo=quiet
    )
    assert torch.equal(_weights(task), _weights(again))  # one seed reproduces a run exactly
    ignored = distill_explanations(
        _config(explanations, student, mode="both", alpha=1.0), verifier=keyword_teacher, keep_model=True, echo=quiet
    )
    # the same updates up to float noise (longer padded batches round differently)
    assert (_weights(task) - _weights(ignored)).abs().max() < 1e-5
    mixed = distill_explanations(
        _config(explanations, student, mode="both", alpha=0.5), verifier=keyword_teacher, keep_model=True, echo=quiet
    )
    assert (_weights(task) - _weights(mixed)).abs().max() > 1e-3
    assert mixed["train_sequences"] > task["train_sequences"] == 8


def test_budget_and_seed_must_be_explained(explanations, student):
    from codistill.errors import ConfigError
    from codistill.explanations.run import distill_explanations

    with pytest.raises(ConfigError, match="exceeds"):
        distill_explanations(_config(explanations, student, k=16))
    with pytest.raises(ConfigError, match="seed 5"):
        distill_explanations(_config(explanations, student, seed=5))


def test_student_learns_to_write_the_teachers_rationales(explanations, student, keyword_teacher):
    """Overfit the explanation prefixes of the training examples; the student then writes the
    teacher's rationales and verified counterfactuals for them (prompt, mask and decoding agree)."""
    from codistill.explanations import evaluate as ev
    from codistill.explanations.render import parse_counterfactual
    from codistill.explanations.run import distill_explanations

    cfg = _config(
        explanations,
        student,
        mode="both",
        alpha=0.5,
        k=4,
        train={"max_steps": 150, "batch_size": 4, "learning_rate": 1e-2, "warmup_ratio": 0.0, "select_best": False},
    )
    result = distill_explanations(cfg, verifier=keyword_teacher, keep_model=True, echo=quiet)
    lm, tok = result["_student"], result["_tokenizer"]
    train = [r for r in explanations.records if r.id in {e for e in _budget_ids(explanations, 4)}]
    texts = [r.text for r in train]
    rationales = ev.generate(lm, tok, cfg.prompts.rationale, texts, cfg.prompts, 12)
    assert sum(w == r.rationale for w, r in zip(rationales, train)) >= 3
    cfs = ev.generate(lm, tok, cfg.prompts.counterfactual, texts, cfg.prompts, 48)
    ok = [parse_counterfactual(c, r.text) for c, r in zip(cfs, train) if r.counterfactual]
    assert sum(p is not None for p in ok) >= len(ok) - 1
    classifier, ptok = ev.task_classifier(lm, tok, cfg.prompts, ["negative", "positive"])
    assert list(ev.predict(classifier, ptok, texts)) == [r.label for r in train]


def _budget_ids(explanations, k):
    from codistill.data import load_task, sample
    from codistill.explanations.config import ExplainConfig

    cfg = ExplainConfig.from_yaml(explanations.output_dir / "config.yaml")
    return [e.id for e in sample(load_task(cfg.data), k, 0).examples]


@pytest.fixture
def t5_student(tmp_path):
    """A tiny random T5 (encoder-decoder) with a WordPiece tokenizer that has an eos token."""
    from transformers import T5Config, T5ForConditionalGeneration

    from codistill.testing import LLM_WORDS, TINY_WORDS, _wordpiece_tokenizer

    words = (
        *TINY_WORDS,
        *LLM_WORDS,
        "task",
        "classify",
        "explain",
        "flip",
        "text",
        "label",
        "evidence",
        "edit",
        "would",
        "be",
        ":",
        '"',
        ">",
    )
    tok = _wordpiece_tokenizer(words)
    tok.eos_token = "[SEP]"
    torch.manual_seed(0)
    cfg = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=0,
    )
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "t5")
    tok.save_pretrained(tmp_path / "t5")
    return tmp_path / "t5"


def test_encoder_decoder_student_learns_labels_and_rationales(explanations, t5_student, keyword_teacher):
    from codistill.explanations import evaluate as ev
    from codistill.explanations.run import distill_explanations

    lora = distill_explanations(
        _config(explanations, t5_student, mode="task", k=4, lora={"r": 4}, train={"max_steps": 1, "batch_size": 4}),
        verifier=keyword_teacher,
        echo=quiet,
    )
    assert lora["seq2seq"] and lora["lora"]  # LoRA wraps encoder-decoders too (peft SEQ_2_SEQ_LM)
    cfg = _config(
        explanations,
        t5_student,
        mode="both",
        alpha=0.5,
        k=4,
        train={"max_steps": 200, "batch_size": 4, "learning_rate": 2e-2, "warmup_ratio": 0.0, "select_best": False},
    )
    result = distill_explanations(cfg, verifier=keyword_teacher, keep_model=True, echo=quiet)
    assert result["seq2seq"] and {"accuracy", "cf_validity", "rationale_f1", "simulatability"} <= set(result["metrics"])
    lm, tok = result["_student"], result["_tokenizer"]
    train = [r for r in explanations.records if r.id in set(_budget_ids(explanations, 4))]
    classifier, ptok = ev.task_classifier(lm, tok, cfg.prompts, ["negative", "positive"])
    assert list(ev.predict(classifier, ptok, [r.text for r in train])) == [r.label for r in train]
    rationales = ev.generate(lm, tok, cfg.prompts.rationale, [r.text for r in train], cfg.prompts, 12)
    from codistill.explanations.render import rationale_evidence, token_f1

    names = ["negative", "positive"]
    assert (
        sum(
            token_f1(rationale_evidence(w, names), rationale_evidence(r.rationale, names))
            for w, r in zip(rationales, train)
        )
        >= 3
    )


def test_explanations_are_generated_as_long_as_the_longest_target(student):
    from codistill.explanations.run import longest_target
    from codistill.explanations.student import build_features
    from codistill.models.loading import load_tokenizer

    tok = load_tokenizer(str(student))
    feats = build_features(tok, [RECORD], "both", PromptsConfig(), ["negative", "positive"], [0], 128)
    want = max(
        len(tok(" " + t, add_special_tokens=False)["input_ids"]) + 1 for t in (RECORD.rationale, RECORD.counterfactual)
    )
    assert longest_target(feats) == want > len(tok(" negative", add_special_tokens=False)["input_ids"]) + 1


def _full_logits_loss(model, batch, alpha):
    """The loss computed the plain way: full (B, T, V) logits, response tokens masked."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    targets, mask = batch["input_ids"][:, 1:], batch["response_mask"][:, 1:].float()
    ce = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets, reduction="none")
    return mixed_loss((ce * mask).sum(1) / mask.sum(1).clamp_min(1.0), batch["kind"], alpha)


@pytest.mark.parametrize("lora", [False, True])
def test_loss_reads_logits_at_response_positions_only_with_the_same_value_and_gradients(student, lora):
    """The LM head runs on the response positions only (prompts carry no target): the loss and
    every gradient equal the full-logits computation, with far fewer logits."""
    import types

    from codistill.explanations.seq2seq import load_student
    from codistill.explanations.student import ExplanationCollator, ExplanationTrainer, build_features
    from codistill.models.loading import load_tokenizer

    tok = load_tokenizer(str(student))
    torch.manual_seed(0)
    model = load_student(str(student))
    if lora:
        from codistill.models.lora import LoraSettings, apply_lora

        model = apply_lora(model, LoraSettings(r=4, dropout=0.0), "causal_lm")
    records = [
        RECORD,
        ExplanationRecord(
            id="b",
            text="the acting is not good but the story is quite moving",
            teacher_label=1,
            rationale='positive: "moving"',
        ),
    ]
    feats = build_features(tok, records, "both", PromptsConfig(), ["negative", "positive"], [0, 1], 128)
    batch = ExplanationCollator(tok.pad_token_id or 0)(feats)
    assert (batch["attention_mask"] == 0).any()  # right padding is exercised

    head_outputs: list[tuple[int, ...]] = []
    body_inputs: list[int] = []
    hooks = [
        model.get_output_embeddings().register_forward_hook(lambda m, i, o: head_outputs.append(tuple(o.shape))),
        model.get_input_embeddings().register_forward_hook(lambda m, i, o: body_inputs.append(i[0].numel())),
    ]
    params = [p for p in model.parameters() if p.requires_grad]
    loss = ExplanationTrainer.compute_loss(types.SimpleNamespace(alpha=0.3), model, batch)
    grads = torch.autograd.grad(loss, params)
    targets = int(batch["response_mask"][:, 1:].sum())
    assert targets * 3 < batch["input_ids"].numel()
    # logits only at the target positions, not (B, T, V)
    assert all(len(shape) == 2 and shape[1] == model.config.vocab_size for shape in head_outputs)
    assert sum(shape[0] for shape in head_outputs) == targets
    # rows of similar length run together: fewer padded tokens than one (B, T) batch
    assert int(batch["attention_mask"].sum()) <= sum(body_inputs) < batch["input_ids"].numel()

    for hook in hooks:
        hook.remove()
    reference = _full_logits_loss(model, batch, 0.3)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    for g, r in zip(grads, torch.autograd.grad(reference, params)):
        assert torch.allclose(g, r, rtol=1e-4, atol=1e-6)


def test_models_without_masked_logits_to_keep_get_the_full_logits_indexed(student, monkeypatch):
    from codistill.explanations.seq2seq import load_student
    from codistill.explanations.student import ExplanationCollator, build_features, sequence_ce
    from codistill.generation import logits as lg
    from codistill.models.loading import load_tokenizer

    tok = load_tokenizer(str(student))
    model = load_student(str(student))
    batch = ExplanationCollator(tok.pad_token_id or 0)(
        build_features(tok, [RECORD], "both", PromptsConfig(), ["negative", "positive"], [0], 128)
    )
    fast = sequence_ce(model, batch)
    monkeypatch.setattr(lg, "keeps_masked_logits", lambda model: False)
    assert torch.allclose(sequence_ce(model, batch), fast, rtol=1e-5)
