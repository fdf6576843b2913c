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


class TokenKDRun:
    """One :func:`distill_generation` run.

    :meth:`run` calls its steps in order and each is a method a subclass may override: another
    student kind overrides :meth:`load_models`, another trainer :meth:`train`, another report
    :meth:`record`. Steps hand their results on as attributes (``teacher``, ``student``,
    ``features``, ``evals``, ``trainer``, ...)."""

    teacher: Any
    teacher_tok: Any
    student: Any
    student_tok: Any
    vocab: int
    features: list[dict[str, Any]]
    evals: list[Any]
    trainer: Any
    output: Any

    def __init__(self, config: TokenKDConfig, *, keep_model: bool = False) -> None:
        self.config = config
        self.keep_model = keep_model

    # -- the run --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from codistill.models.loading import quiet_transformers
        from codistill.utils.seed import seed_everything

        self.check()
        quiet_transformers()
        self.t0 = time.perf_counter()
        seed_everything(self.config.train.seed)
        self.load_models()
        self.load_data()
        before, teacher_answers = self.evaluate(None)
        self.train()
        after, _ = self.evaluate(teacher_answers)
        metrics = self.record(before, after)
        if self.config.output_dir:
            self.save(Path(self.config.output_dir).expanduser(), metrics)
        if self.keep_model:
            metrics["_student"] = self.student
        return metrics

    # -- the steps --------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a foreign output folder before training."""
        if self.config.output_dir:
            from codistill.utils.io import check_output_dir

            check_output_dir(Path(self.config.output_dir).expanduser(), kind="generation")

    def load_models(self) -> None:
        """Teacher and student LMs and tokenizers (one vocabulary), LoRA on the student if asked."""
        from codistill.models.loading import load_tokenizer
        from codistill.models.verbalizer import load_causal_lm

        config = self.config
        self.teacher_tok, self.student_tok = load_tokenizer(config.teacher), load_tokenizer(config.student)
        self.vocab = check_shared_vocab(self.student_tok, self.teacher_tok)
        self.teacher, self.student = load_causal_lm(config.teacher), load_causal_lm(config.student)
        if config.lora is not None:
            from codistill.models.lora import apply_lora

            self.student = apply_lora(self.student, config.lora, "causal_lm")

    def load_data(self) -> None:
        """The encoded training instructions and the evaluation instructions (none without ``data.eval``)."""
        from codistill.generation.data import encode, read_instructions

        tc, dc = self.config.train, self.config.data
        train = read_instructions(dc.train, dc.prompt_field, dc.response_field, dc.max_train_examples)
        self.features = [encode(self.student_tok, ex, dc.chat, tc.max_length) for ex in train]
        self.evals = (
            read_instructions(dc.eval, dc.prompt_field, dc.response_field, dc.max_eval_examples) if dc.eval else []
        )

    def evaluate(self, teacher_answers: list[str] | None) -> tuple[dict[str, float], list[str] | None]:
        """(the student's answer metrics, the teacher's answers: generated once, reused after training);
        ``({}, None)`` without evaluation instructions."""
        if not self.evals:
            return {}, None
        from codistill.generation.evaluate import answer_metrics, generate_answers

        config, dc = self.config, self.config.data
        prompts = [e.prompt for e in self.evals]
        teacher_answers = teacher_answers or generate_answers(
            self.teacher, self.teacher_tok, prompts, chat=dc.chat, max_new_tokens=config.max_new_tokens, desc="teacher"
        )
        answers = generate_answers(
            self.student, self.student_tok, prompts, chat=dc.chat, max_new_tokens=config.max_new_tokens, desc="student"
        )
        return answer_metrics(answers, teacher_answers, [e.response for e in self.evals]), teacher_answers

    def train(self) -> None:
        """Token-level KD in a scratch folder; the student afterwards is the trained one (LoRA merged)."""
        from codistill.generation.data import InstructionCollator
        from codistill.generation.trainer import TokenKDTrainer
        from codistill.training.trackers import point_tensorboard

        config, tc = self.config, self.config.train
        workdir = Path(tempfile.mkdtemp(prefix="codistill-tokenkd-"))
        run_name = Path(config.output_dir).name if config.output_dir else "token-kd"
        try:
            self.trainer = TokenKDTrainer(
                model=self.student,
                args=tc.trainer_arguments(str(workdir), len(self.features), run_name=run_name, disable_tqdm=True),
                train_dataset=self.features,
                data_collator=InstructionCollator(self.student_tok.pad_token_id),
                teacher=self.teacher,
                vocab_size=self.vocab,
                loss=config.loss,
                beta=config.beta,
                temperature=config.temperature,
                lambda_on_policy=config.lambda_on_policy,
                max_new_tokens=config.max_new_tokens,
                sampling_temperature=config.sampling_temperature,
                pad_id=self.student_tok.pad_token_id,
                eos_id=self.student_tok.eos_token_id,
            )
            point_tensorboard(self.trainer, tc.resolved_logging_dir(run_name))
            self.output = self.trainer.train()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.student = self.trainer.model
        if config.lora is not None:
            from codistill.models.lora import merge_lora

            self.student = merge_lora(self.student)

    def record(self, before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
        """The run's metrics (what ``metrics.json`` holds)."""
        import torch

        config = self.config
        return {
            "loss": config.loss,
            "beta": config.beta if config.loss == "gjsd" else None,
            "temperature": config.temperature,
            "lambda_on_policy": config.lambda_on_policy,
            "on_policy_sequences": self.trainer.on_policy_sequences,
            "train_examples": len(self.features),
            "train_steps": int(self.output.global_step),
            "train_loss": float(self.output.training_loss),
            "loss_history": [h for h in self.trainer.state.log_history if "loss" in h],
            "eval_before": before,
            "eval": after,
            "teacher": config.teacher,
            "student": config.student,
            "device": str(next(self.student.parameters()).device),
            "torch_threads": torch.get_num_threads(),
            "seconds": round(time.perf_counter() - self.t0, 2),
            "codistill_version": __version__,
        }

    def save(self, out: Path, metrics: dict[str, Any]) -> None:
        """The (merged) student, its tokenizer, the config and the metrics, written atomically."""
        from codistill.utils.io import atomic_directory, atomic_write_json

        with atomic_directory(out, "generation") as tmp:
            self.student.save_pretrained(tmp)
            self.student_tok.save_pretrained(tmp)
            self.config.save(tmp / "generation_config.yaml")
            atomic_write_json(tmp / "metrics.json", metrics)


def distill_generation(config: TokenKDConfig, *, keep_model: bool = False) -> dict[str, Any]:
    """Token-level KD of ``config.student`` from ``config.teacher``: the run's metrics (with the
    student under ``_student`` when ``keep_model``)."""
    return TokenKDRun(config, keep_model=keep_model).run()
