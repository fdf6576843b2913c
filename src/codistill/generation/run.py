"""``distill_generation(config)``: load teacher and student LMs, check the shared vocabulary,
train token by token, evaluate answers, save the (merged) student."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from codistill import __version__
from codistill.errors import ConfigError
from codistill.generation.config import TokenKDConfig


def check_shared_vocab(student_tokenizer: Any, teacher_tokenizer: Any) -> int:
    """Token-level KD compares distributions over the same token ids: the vocabularies must match."""
    s, t = student_tokenizer.get_vocab(), teacher_tokenizer.get_vocab()
    if s != t:
        only_s, only_t = len(set(s) - set(t)), len(set(t) - set(s))
        moved = sum(1 for k in set(s) & set(t) if s[k] != t[k])
        raise ConfigError(
            f"token-level KD needs one tokenizer for teacher and student; theirs differ ({len(t)} vs {len(s)} tokens: "
            f"{only_t} only in the teacher's, {only_s} only in the student's, {moved} with different ids)"
        )
    return len(s)


def distill_generation(config: TokenKDConfig, *, keep_model: bool = False) -> dict[str, Any]:
    import torch

    from codistill.generation.data import InstructionCollator, encode, read_instructions
    from codistill.generation.evaluate import answer_metrics, generate_answers
    from codistill.generation.trainer import TokenKDTrainer
    from codistill.models.loading import load_tokenizer, quiet_transformers
    from codistill.models.verbalizer import load_causal_lm
    from codistill.training.trackers import point_tensorboard
    from codistill.utils.seed import seed_everything

    if config.output_dir:  # refuse a foreign output folder before training
        from codistill.utils.io import check_output_dir

        check_output_dir(Path(config.output_dir).expanduser(), kind="generation")
    quiet_transformers()
    t0 = time.perf_counter()
    tc, dc = config.train, config.data
    seed_everything(tc.seed)
    teacher_tok, student_tok = load_tokenizer(config.teacher), load_tokenizer(config.student)
    vocab = check_shared_vocab(student_tok, teacher_tok)
    teacher, student = load_causal_lm(config.teacher), load_causal_lm(config.student)
    if config.lora is not None:
        from codistill.models.lora import apply_lora

        student = apply_lora(student, config.lora, "causal_lm")
    train = read_instructions(dc.train, dc.prompt_field, dc.response_field, dc.max_train_examples)
    features = [encode(student_tok, ex, dc.chat, tc.max_length) for ex in train]
    evals = read_instructions(dc.eval, dc.prompt_field, dc.response_field, dc.max_eval_examples) if dc.eval else []

    def evaluate(model: Any, teacher_answers: list[str] | None) -> tuple[dict[str, float], list[str]]:
        prompts = [e.prompt for e in evals]
        teacher_answers = teacher_answers or generate_answers(
            teacher, teacher_tok, prompts, chat=dc.chat, max_new_tokens=config.max_new_tokens, desc="teacher"
        )
        answers = generate_answers(
            model, student_tok, prompts, chat=dc.chat, max_new_tokens=config.max_new_tokens, desc="student"
        )
        return answer_metrics(answers, teacher_answers, [e.response for e in evals]), teacher_answers

    before, teacher_answers = evaluate(student, None) if evals else ({}, None)
    workdir = Path(tempfile.mkdtemp(prefix="codistill-tokenkd-"))
    run_name = Path(config.output_dir).name if config.output_dir else "token-kd"
    try:
        trainer = TokenKDTrainer(
            model=student,
            args=tc.trainer_arguments(str(workdir), len(features), run_name=run_name, disable_tqdm=True),
            train_dataset=features,
            data_collator=InstructionCollator(student_tok.pad_token_id),
            teacher=teacher,
            vocab_size=vocab,
            loss=config.loss,
            beta=config.beta,
            temperature=config.temperature,
            lambda_on_policy=config.lambda_on_policy,
            max_new_tokens=config.max_new_tokens,
            sampling_temperature=config.sampling_temperature,
            pad_id=student_tok.pad_token_id,
            eos_id=student_tok.eos_token_id,
        )
        point_tensorboard(trainer, tc.resolved_logging_dir(run_name))
        output = trainer.train()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    student = trainer.model
    if config.lora is not None:
        from codistill.models.lora import merge_lora

        student = merge_lora(student)
    after, _ = evaluate(student, teacher_answers) if evals else ({}, None)
    metrics: dict[str, Any] = {
        "loss": config.loss,
        "beta": config.beta if config.loss == "gjsd" else None,
        "temperature": config.temperature,
        "lambda_on_policy": config.lambda_on_policy,
        "on_policy_sequences": trainer.on_policy_sequences,
        "train_examples": len(features),
        "train_steps": int(output.global_step),
        "train_loss": float(output.training_loss),
        "loss_history": [h for h in trainer.state.log_history if "loss" in h],
        "eval_before": before,
        "eval": after,
        "teacher": config.teacher,
        "student": config.student,
        "device": str(next(student.parameters()).device),
        "torch_threads": torch.get_num_threads(),
        "seconds": round(time.perf_counter() - t0, 2),
        "codistill_version": __version__,
    }
    if config.output_dir:
        from codistill.utils.io import atomic_directory, atomic_write_json

        with atomic_directory(Path(config.output_dir).expanduser(), "generation") as tmp:
            student.save_pretrained(tmp)
            student_tok.save_pretrained(tmp)
            config.save(tmp / "generation_config.yaml")
            atomic_write_json(tmp / "metrics.json", metrics)
    if keep_model:
        metrics["_student"] = student
    return metrics
