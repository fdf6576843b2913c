"""``TokenKDTrainer``: a ``transformers.Trainer`` whose loss is a per-token divergence to a frozen
teacher, with optional on-policy sequences sampled from the student (GKD, Agarwal et al. 2024)."""

from __future__ import annotations

from typing import Any

import torch
from transformers import Trainer

from codistill.generation.logits import logits_at, target_positions
from codistill.generation.losses import shared_vocab_logits, token_divergence


class TokenKDTrainer(Trainer):
    def __init__(
        self,
        *args: Any,
        teacher: Any,
        vocab_size: int,
        loss: str = "forward_kl",
        beta: float = 0.5,
        temperature: float = 1.0,
        lambda_on_policy: float = 0.0,
        max_new_tokens: int = 32,
        sampling_temperature: float = 1.0,
        pad_id: int = 0,
        eos_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.teacher = teacher.eval().to(self.args.device)
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.vocab_size, self.loss_name, self.beta, self.temperature = vocab_size, loss, beta, temperature
        self.lambda_on_policy, self.max_new_tokens, self.sampling_temperature = (
            lambda_on_policy,
            max_new_tokens,
            sampling_temperature,
        )
        self.pad_id, self.eos_id = pad_id, eos_id
        self.model_accepts_loss_kwargs = False
        self.on_policy_sequences = 0
        self._rng = torch.Generator().manual_seed(self.args.seed)

    # -- on-policy: the student writes some of the responses ---------------------------------
    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.lambda_on_policy > 0:
            chosen = torch.rand(inputs["input_ids"].shape[0], generator=self._rng) < self.lambda_on_policy
            if chosen.any():
                inputs = self._student_responses(model, inputs, chosen)
        return super().training_step(model, inputs, num_items_in_batch)

    @torch.no_grad()
    def _student_responses(
        self, model: Any, inputs: dict[str, torch.Tensor], chosen: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        unwrapped = self.accelerator.unwrap_model(model)
        was_training = unwrapped.training
        unwrapped.eval()
        rows = [i for i in range(len(chosen)) if chosen[i]]
        prompts = [inputs["input_ids"][i, : int(inputs["prompt_length"][i])].tolist() for i in rows]
        width = max(len(p) for p in prompts)
        # left-pad the prompts so every continuation starts at the same column
        ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts], device=inputs["input_ids"].device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=ids.device)
        generated = unwrapped.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=self.sampling_temperature,
            top_k=0,
            max_new_tokens=self.max_new_tokens,
            pad_token_id=self.pad_id,
            eos_token_id=self.eos_id,
        )[:, width:]
        unwrapped.train(was_training)
        self.on_policy_sequences += len(rows)
        sequences = []
        for i in range(inputs["input_ids"].shape[0]):
            n_real = int(inputs["attention_mask"][i].sum())
            seq = inputs["input_ids"][i, :n_real].tolist()
            resp_mask = inputs["response_mask"][i, :n_real].tolist()
            if i in rows:
                answer = generated[rows.index(i)].tolist()
                if self.eos_id is not None and self.eos_id in answer:
                    answer = answer[: answer.index(self.eos_id) + 1]  # keep the eos: ending is learned too
                prompt = seq[: int(inputs["prompt_length"][i])]
                seq, resp_mask = prompt + answer, [0] * len(prompt) + [1] * len(answer)
            sequences.append((seq, resp_mask))
        length = max(len(s) for s, _ in sequences)
        device = inputs["input_ids"].device
        return {
            "input_ids": torch.tensor([s + [self.pad_id] * (length - len(s)) for s, _ in sequences], device=device),
            "attention_mask": torch.tensor(
                [[1] * len(s) + [0] * (length - len(s)) for s, _ in sequences], device=device
            ),
            "response_mask": torch.tensor([m + [0] * (length - len(m)) for _, m in sequences], device=device),
            "prompt_length": inputs["prompt_length"],
        }

    # -- loss ------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        ids, attn, resp = inputs["input_ids"], inputs["attention_mask"], inputs["response_mask"]
        # the logits at position i predict token i + 1: only positions whose next token is a response
        # token count, so both LM heads run on those positions only ((N, V) logits)
        keep = target_positions(resp)
        student = logits_at(model, ids, attn, keep)
        with torch.no_grad():
            teacher = logits_at(self.teacher, ids, attn, keep)
        student, teacher = shared_vocab_logits(student, teacher, self.vocab_size)
        counted = torch.ones(student.shape[0], dtype=torch.bool, device=student.device)
        loss = token_divergence(student, teacher, counted, self.loss_name, beta=self.beta, temperature=self.temperature)
        return (loss, {"logits": student}) if return_outputs else loss
