"""Token-level KD for causal LMs: closed-form limits, response masking, vocab checks, training."""

import json

import pytest
import torch

from codistill.distill.losses.functional import kl
from codistill.errors import ConfigError
from codistill.generation.losses import token_divergence


def _logits(seed, shape=(2, 5, 11)):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 2


def test_closed_form_limits_and_temperature():
    s, t = _logits(0), _logits(1)
    mask = torch.ones(2, 5)
    assert token_divergence(t, t, mask, "forward_kl") == pytest.approx(0.0, abs=1e-6)
    assert token_divergence(t, t, mask, "gjsd") == pytest.approx(0.0, abs=1e-6)
    fwd = token_divergence(s, t, mask, "forward_kl")
    rev = token_divergence(s, t, mask, "reverse_kl")
    flat_s, flat_t = s.reshape(-1, 11), t.reshape(-1, 11)
    assert fwd == pytest.approx(float(kl(flat_t, flat_s)), rel=1e-5)
    assert rev == pytest.approx(float(kl(flat_s, flat_t)), rel=1e-5)
    assert token_divergence(s, t, mask, "gjsd", beta=0.0) == pytest.approx(float(fwd), rel=1e-5)
    assert token_divergence(s, t, mask, "gjsd", beta=1.0) == pytest.approx(float(rev), rel=1e-5)
    # the generalised JSD is bounded by ln 2 (times T^2) and lies strictly inside
    jsd = token_divergence(s, t, mask, "gjsd", beta=0.5)
    assert 0 < jsd < torch.log(torch.tensor(2.0))
    # T^2 scaling: at T=3 the value is 9 * KL of the softened distributions
    assert token_divergence(s, t, mask, "forward_kl", temperature=3.0) == pytest.approx(
        9 * float(kl(flat_t, flat_s, 3.0)), rel=1e-5
    )


def test_only_response_positions_count():
    s, t = _logits(2), _logits(3)
    mask = torch.zeros(2, 5)
    mask[:, 3:] = 1
    base = token_divergence(s, t, mask, "reverse_kl")
    s2 = s.clone()
    s2[:, :3] = _logits(9)[:, :3]  # change prompt positions only
    assert token_divergence(s2, t, mask, "reverse_kl") == pytest.approx(float(base), rel=1e-6)
    s3 = s.clone()
    s3[:, 4] = 0
    assert token_divergence(s3, t, mask, "reverse_kl") != pytest.approx(float(base), rel=1e-3)
    assert token_divergence(s, t, torch.zeros(2, 5), "forward_kl") == 0
    with pytest.raises(ConfigError, match="unknown token loss"):
        token_divergence(s, t, mask, "mse")


@pytest.fixture(scope="module")
def instructions(tmp_path_factory):
    root = tmp_path_factory.mktemp("instr")
    rows = [
        {"prompt": f"question is the film {w} ?", "response": "yes" if w in ("good", "great", "fine") else "no"}
        for w in ("good", "bad", "great", "awful", "fine", "dull", "boring", "poor")
    ]
    for name, part in (("train", rows), ("eval", rows[:4])):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    return root


def _config(tiny_lm, instructions, tmp_path, **extra):
    from codistill.generation import TokenKDConfig

    return TokenKDConfig.from_dict(
        {
            "teacher": str(tiny_lm("llama", num_layers=3)),
            "student": str(tiny_lm("qwen2", num_layers=1, hidden=16)),
            "data": {"train": str(instructions / "train.jsonl"), "eval": str(instructions / "eval.jsonl")},
            "max_new_tokens": 4,
            "output_dir": str(tmp_path / "out"),
            "train": {
                "max_steps": 12,
                "batch_size": 4,
                "learning_rate": 1e-2,
                "logging_steps": 4,
                "select_best": False,
            },
            **extra,
        }
    )


@pytest.mark.parametrize("loss", ["forward_kl", "reverse_kl", "gjsd"])
def test_off_policy_training_reduces_the_divergence(tiny_lm, instructions, tmp_path, loss):
    from codistill.generation.run import distill_generation

    m = distill_generation(_config(tiny_lm, instructions, tmp_path, loss=loss))
    history = [h["loss"] for h in m["loss_history"]]
    assert len(history) == 3 and history[-1] < history[0]
    assert m["on_policy_sequences"] == 0 and m["train_steps"] == 12
    for key in ("accuracy", "teacher_accuracy", "agreement"):
        assert 0 <= m["eval"][key] <= 1
    assert m["eval"]["teacher_accuracy"] == m["eval_before"]["teacher_accuracy"]  # teacher answers fixed
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_on_policy_lora_student_is_merged(tiny_lm, instructions, tmp_path):
    from codistill.generation.run import distill_generation

    cfg = _config(tiny_lm, instructions, tmp_path, lambda_on_policy=1.0, lora={"r": 2}).with_overrides(
        ["train.max_steps=3"]
    )
    m = distill_generation(cfg, keep_model=True)
    assert m["on_policy_sequences"] == 3 * 4  # every sequence of every step was student-generated
    assert not any("lora" in n for n, _ in m["_student"].named_parameters())


def test_mismatched_tokenizers_are_a_clear_error(tiny_lm, instructions, tmp_path, tmp_path_factory):
    from codistill.generation.run import distill_generation
    from codistill.testing import make_tiny_model

    other = make_tiny_model("qwen2", tmp_path / "other", causal_lm=True, words=["completely", "different", "words"])
    cfg = _config(tiny_lm, instructions, tmp_path).model_copy(update={"student": str(other)})
    with pytest.raises(ConfigError, match="one tokenizer"):
        distill_generation(cfg)


def test_cli_generate_distill(tiny_lm, instructions, tmp_path, capsys):
    from codistill.cli import main

    args = [
        "generate-distill",
        "--teacher",
        str(tiny_lm("llama", num_layers=3)),
        "--student",
        str(tiny_lm("qwen2", num_layers=1, hidden=16)),
        "--train",
        str(instructions / "train.jsonl"),
        "--eval",
        str(instructions / "eval.jsonl"),
        "--loss",
        "gjsd",
        "--set",
        "train.max_steps=2",
        "--set",
        "max_new_tokens=2",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trained 2 steps (gjsd" in out and '"agreement"' in out
    assert main(["generate-distill", "--teacher", "x", "--student", "y", "--train", "t.jsonl", "--loss", "mse"]) != 0
    assert "error:" in capsys.readouterr().err


def test_kd_loss_reads_both_lm_heads_at_response_positions_only(tiny_lm):
    """Student and teacher logits only where the next token is a response token, and the loss is
    the full-logits one."""
    import types

    from codistill.explanations.seq2seq import load_student
    from codistill.generation.trainer import TokenKDTrainer

    student, teacher = (
        load_student(str(tiny_lm("qwen2", num_layers=1, hidden=16))),
        load_student(str(tiny_lm("llama", num_layers=3))),
    )
    ids = torch.randint(1, 40, (3, 7), generator=torch.Generator().manual_seed(0))
    attn = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 4 + [0] * 3])
    resp = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0], [0, 0, 1, 1, 0, 0, 0]])
    shapes = []
    for m in (student, teacher):
        m.get_output_embeddings().register_forward_hook(lambda mod, i, o: shapes.append(tuple(o.shape)))
    fake = types.SimpleNamespace(
        teacher=teacher, vocab_size=student.config.vocab_size, loss_name="reverse_kl", beta=0.5, temperature=2.0
    )
    loss = TokenKDTrainer.compute_loss(fake, student, {"input_ids": ids, "attention_mask": attn, "response_mask": resp})
    assert shapes == [
        (7, student.config.vocab_size),
        (7, teacher.config.vocab_size),
    ]  # 3 + 2 + 2 target positions of 21
    s, t = (m(input_ids=ids, attention_mask=attn).logits for m in (student, teacher))
    want = token_divergence(s[:, :-1], t[:, :-1], resp[:, 1:], "reverse_kl", temperature=2.0)
    assert loss.item() == pytest.approx(
        want.item(), rel=1e-3
    )  # fp32: gathered vs full matmuls differ in the last digits (thread count)


def test_rows_are_grouped_by_length_to_save_padding():
    from codistill.generation.logits import length_groups

    assert length_groups([40, 3, 41, 2, 3], overhead=4) == [[1, 3, 4], [0, 2]]
    assert length_groups([40, 3, 41, 2, 3], overhead=1000) == [[0, 1, 2, 3, 4]]  # a group costs more than the pads
    assert length_groups([5], overhead=0) == [[0]]
