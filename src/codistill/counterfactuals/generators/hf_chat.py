"""``hf-chat``: a local transformers chat model, for users without an API.

Works with any causal LM that has a chat template, including GGUF checkpoints (the packaged
SmolLM2-135M-Instruct is de-quantised on load, ~30 s). Prompts are the same per-task templates as
the ``openai`` generator; replies go through the same parsing and teacher verification. Replies
are cached like API replies (keyed by model fingerprint, prompt hash, parameters and messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from codistill.counterfactuals.cache import Cache, Ledger
from codistill.counterfactuals.generators.base import Generator, Proposal, Request, register_generator
from codistill.counterfactuals.prompts import build_messages, template_for
from codistill.utils.hashing import fingerprint


@register_generator("hf-chat")
class HFChatGenerator(Generator):
    def __init__(self, config, task) -> None:
        super().__init__(config, task)
        from codistill.models import model_fingerprint, resolve_model

        self.hcfg = config.hf_chat
        self.template = template_for(task)
        self.ref = resolve_model(self.hcfg.model)
        self.model_fp = model_fingerprint(self.ref)
        self.cache: Cache | None = None
        self.ledger = Ledger(None)
        self._model: Any = None  # loaded lazily: a transformers causal LM
        self._tokenizer: Any = None

    def attach(self, cache: Cache | None, ledger: Ledger, budget: Any = None) -> None:
        self.cache, self.ledger = cache, ledger

    def identity(self) -> dict[str, Any]:
        h = self.hcfg
        return {
            "generator": self.name,
            "model": self.model_fp,
            "prompt": self.template.hash,
            "temperature": h.temperature,
            "max_new_tokens": h.max_new_tokens,
            "num_candidates": h.num_candidates,
            "seed": h.seed,
        }

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM

        from codistill.models import load_tokenizer
        from codistill.models.loading import quiet_transformers

        quiet_transformers()
        self._tokenizer = load_tokenizer(self.ref)
        self._tokenizer.padding_side = "left"  # generation continues from the right edge
        self._model = AutoModelForCausalLM.from_pretrained(
            self.ref.path, dtype=torch.float32, **self.ref.pretrained_kwargs()
        ).eval()

    def _prompt(self, messages: list[dict[str, str]]) -> str:
        tok = self._tokenizer
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # no chat template (e.g. a bare test model): a plain transcript
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"

    def propose(self, requests: Sequence[Request], attempt: int) -> list[list[Proposal]]:
        h = self.hcfg
        items = []
        for i, req in enumerate(requests):
            messages = build_messages(
                self.template, self.task, req.example.text, req.teacher_label, req.feedback, req.target_label
            )
            for j in range(h.num_candidates):
                items.append(
                    (
                        (i, j),
                        fingerprint(
                            {**self.identity(), "messages": messages, "candidate": j, "attempt": attempt}, length=32
                        ),
                        messages,
                    )
                )
        results = self._complete(items)
        return [[results[(i, j)] for j in range(h.num_candidates)] for i in range(len(requests))]

    def chat(self, conversations: Sequence[list[dict[str, str]]], purpose: str) -> list[Proposal]:
        """One reply per conversation (any prompt, e.g. a rationale), cached and in the ledger like
        counterfactual proposals; ``purpose`` separates cache keys."""
        items = [
            (i, fingerprint({**self.identity(), "messages": m, "purpose": purpose}, length=32), m)
            for i, m in enumerate(conversations)
        ]
        results = self._complete(items)
        return [results[i] for i in range(len(conversations))]

    def _complete(self, items: list[tuple[Any, str, list[dict[str, str]]]]) -> dict[Any, Proposal]:
        """Replies for (slot, cache key, messages): from the cache, else generated."""
        jobs, results = [], {}
        for slot, key, messages in items:
            hit = self.cache.get("responses", key) if self.cache is not None else None
            if hit is not None:
                self.ledger.record(generator=self.name, model=self.hcfg.model, key=key, status="cached")
                results[slot] = Proposal(hit["raw"], meta={"cached": True})
            else:
                jobs.append((slot, key, messages))
        if jobs:
            self._generate(jobs, results)
        return results

    def _generate(self, jobs, results) -> None:
        import torch
        from tqdm.auto import tqdm

        self._load()
        h = self.hcfg
        tok, model = self._tokenizer, self._model
        for start in tqdm(
            range(0, len(jobs), h.batch_size), desc="hf-chat", leave=False, disable=not self.config.progress
        ):
            batch = jobs[start : start + h.batch_size]
            prompts = [self._prompt(m) for _, _, m in batch]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            generator_seed = h.seed + start
            torch.manual_seed(generator_seed)
            with torch.inference_mode():
                out = model.generate(
                    **enc,
                    do_sample=h.temperature > 0,
                    temperature=h.temperature or None,
                    max_new_tokens=h.max_new_tokens,
                    pad_token_id=tok.pad_token_id,
                )
            new = out[:, enc["input_ids"].shape[1] :]
            for (slot, key, _), ids in zip(batch, new):
                raw = tok.decode(ids, skip_special_tokens=True)
                n_tokens = int((ids != tok.pad_token_id).sum())
                if self.cache is not None:
                    self.cache.put("responses", key, {"raw": raw, "completion_tokens": n_tokens})
                self.ledger.record(generator=self.name, model=h.model, key=key, status="ok", completion_tokens=n_tokens)
                results[slot] = Proposal(raw)

    def close(self) -> None:
        self._model = None
