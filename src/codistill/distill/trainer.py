"""The distillation trainer: a ``transformers.Trainer`` whose loss is a weighted list of terms.

Teacher signals arrive with the batch (from the cache), so a training step runs the student
only. Loss-term parameters (projections, TED filters) join the optimizer in their own group
without weight decay; every term's value is averaged over the logging window and logged as
``loss_<name>``. Batches come from :class:`PairBatchSampler`, so an original and its
counterfactual always share a step, in one stream of exactly ``max_steps`` x accumulation
batches, so every run (baseline or CoD) takes exactly ``train.max_steps`` optimizer steps.

Several processes (``accelerate launch``): each process takes whole batches of one shared epoch
list (the sampler shards by rank; accelerate's own sharding, which would cut batches apart, is
bypassed), DDP averages the student's gradients and the loss terms' own parameters are averaged
here, and the logged term values are means over processes. ``batch_report`` counts what each
process trained on, including any group found split across a batch (always 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback

from codistill.distill.batch import SignalBatch
from codistill.distill.losses import LossInputs, LossTerm
from codistill.distill.sampler import PairBatchSampler
from codistill.training.dataset import EncodedDataset, PadCollator


class DistillCollator(PadCollator):
    """:class:`PadCollator` that also pads cached teacher hidden states (L, T_i, H) to
    (B, L, T, H) float32 with a matching ``teacher_mask`` (B, T)."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        key = SignalBatch.HIDDEN
        hidden = [f[key] for f in features] if key in features[0] else None
        rest = [{k: v for k, v in f.items() if k != key} for f in features] if hidden is not None else features
        batch = super().__call__(rest)
        if hidden is not None:
            layers, _, width = hidden[0].shape
            length = max(h.shape[1] for h in hidden)
            out = torch.zeros(len(hidden), layers, length, width, dtype=torch.float32)
            mask = torch.zeros(len(hidden), length, dtype=torch.long)
            for i, h in enumerate(hidden):
                n = h.shape[1]
                if self.padding_side == "left":
                    out[i, :, length - n :] = h
                    mask[i, length - n :] = 1
                else:
                    out[i, :, :n] = h
                    mask[i, :n] = 1
            batch[SignalBatch.HIDDEN], batch[SignalBatch.MASK] = out, mask
        return batch


class RankDataLoader(DataLoader):
    """A process's own batches, exactly as its :class:`PairBatchSampler` yields them."""

    def set_epoch(self, epoch: int) -> None:
        cast(PairBatchSampler, self.batch_sampler).set_epoch(epoch)


class AverageTermGradients(TrainerCallback):
    """DDP averages the student's gradients; loss-term parameters (projections, filters) live
    outside the wrapped model, so their gradients are averaged here before each optimizer step."""

    def __init__(self, terms: nn.Module) -> None:
        self.terms = terms

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        import torch.distributed as dist

        for p in self.terms.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                p.grad.div_(dist.get_world_size())
        return control


class DistillTrainer(Trainer):
    def __init__(
        self,
        *args: Any,
        terms: Sequence[tuple[str, float, LossTerm]],
        teacher_layers: Sequence[int] = (),
        pair_groups: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.term_names = [name for name, _, _ in terms]
        self.term_weights = [float(w) for _, w, _ in terms]
        self.terms = nn.ModuleList([t for _, _, t in terms]).to(self.args.device)
        self.teacher_layers = list(teacher_layers)
        self.pair_groups = pair_groups
        self.needs_hidden = any(t.needs_student_hidden for t in self.terms)
        # our loss is a batch mean: let the Trainer divide it for gradient accumulation
        self.model_accepts_loss_kwargs = False
        self.loss_is_scaled_for_ga = False
        self._term_sums: dict[str, torch.Tensor] = {}
        self._term_steps = 0
        self.batch_report = {"batches": 0, "examples": 0, "split_groups": 0}
        self._group_sizes: Counter | None = None
        if self.args.world_size > 1 and any(p.requires_grad for p in self.terms.parameters()):
            self.add_callback(AverageTermGradients(self.terms))

    # -- optimisation ---------------------------------------------------------------------
    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        extra = [p for p in self.terms.parameters() if p.requires_grad]
        known = {id(p) for group in optimizer.param_groups for p in group["params"]}
        extra = [p for p in extra if id(p) not in known]
        if extra:
            optimizer.add_param_group({"params": extra, "weight_decay": 0.0})
        return optimizer

    def get_train_dataloader(self) -> DataLoader:
        dataset = cast(EncodedDataset, self.train_dataset)
        groups = self.pair_groups or [[i] for i in range(len(dataset))]
        world, rank = self.args.world_size, self.args.process_index
        # one epoch of exactly the batches the step budget consumes (over all processes): groups pack
        # into a varying number of batches per pass, and the Trainer would fix the epoch length from the first
        num_batches = self.args.max_steps * self.args.gradient_accumulation_steps * max(1, world)
        sampler = PairBatchSampler(
            groups, self._train_batch_size, seed=self.args.seed, num_batches=num_batches, rank=rank, world_size=world
        )
        if world == 1:
            loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=self.data_collator, num_workers=0)
            return self.accelerator.prepare(loader)
        # not accelerator.prepare: its BatchSamplerShard would re-shard (and may cut) these batches;
        # the Trainer moves each batch to this process's device itself
        return RankDataLoader(dataset, batch_sampler=sampler, collate_fn=self.data_collator, num_workers=0)

    def _record_batch(self, pair_ids: torch.Tensor) -> None:
        if self._group_sizes is None:
            dataset = cast(EncodedDataset, self.train_dataset)
            self._group_sizes = Counter(
                int(cast(torch.Tensor, SignalBatch.pop(dict(dataset[i])).pair_id)) for i in range(len(dataset))
            )
        seen = Counter(pair_ids.tolist())
        self.batch_report["batches"] += 1
        self.batch_report["examples"] += int(pair_ids.numel())
        self.batch_report["split_groups"] += sum(n != self._group_sizes[g] for g, n in seen.items())

    # -- loss -----------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        signals = SignalBatch.pop(inputs)
        if model.training and signals.pair_id is not None:
            self._record_batch(signals.pair_id)
        labels = inputs.pop("labels")
        if not model.training:  # validation during selection: the student alone
            outputs = model(**inputs)
            loss = F.cross_entropy(outputs.logits.float(), labels)
            return (loss, outputs) if return_outputs else loss
        outputs = model(**inputs, output_hidden_states=self.needs_hidden)
        loss_inputs = LossInputs(
            student_logits=outputs.logits,
            labels=labels,
            attention_mask=inputs["attention_mask"],
            teacher_logits=signals.teacher_logits,
            student_hidden=outputs.hidden_states if self.needs_hidden else None,
            teacher_hidden=signals.hidden_by_layer(self.teacher_layers),
            teacher_mask=signals.teacher_mask,
        )
        total = outputs.logits.new_zeros((), dtype=torch.float32)
        for name, weight, term in zip(self.term_names, self.term_weights, self.terms):
            value = term(loss_inputs)
            if weight:
                total = total + weight * value
            self._term_sums[name] = self._term_sums.get(name, 0.0) + value.detach()
        self._term_steps += 1
        return (total, outputs) if return_outputs else total

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._term_steps:
            for name, value in self._term_sums.items():
                mean = value / self._term_steps
                if self.args.world_size > 1:  # every process logs, in step: the mean over processes
                    mean = self.accelerator.reduce(
                        torch.as_tensor(mean, device=self.args.device).float(), reduction="mean"
                    )
                logs[f"loss_{name}"] = round(float(mean), 6)
            self._term_sums, self._term_steps = {}, 0
        super().log(logs, start_time)
