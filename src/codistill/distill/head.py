"""The student's classification head: re-drawn with the run seed, and optionally fitted as a
linear probe on the frozen student's features before training (LP-FT, Kumar et al., ICLR 2022).

A student built from a pretrained encoder starts with a random head. Fine-tuning from a random
head on 8 to 64 texts spends its first steps, at full learning rate, pushing gradients from a
meaningless head into a good encoder. The probe instead fits the head's last linear layer, with
the encoder frozen, to the teacher's probabilities on the training texts (originals and, with CoD,
their counterfactuals), so training starts from the best head the pretrained features allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codistill.evaluation.fidelity import log_softmax, softmax

HEAD_NAMES = ("classifier", "score")


def reinit_head(model: Any, seed: int) -> None:
    """Re-draw the classification head's linear layers from N(0, initializer_range) with ``seed``."""
    import torch

    std = getattr(model.config, "initializer_range", 0.02)
    gen = torch.Generator().manual_seed(seed)
    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        if head is None:
            continue
        for module in head.modules() if isinstance(head, torch.nn.Module) else ():
            if isinstance(module, torch.nn.Linear):
                with torch.no_grad():
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * std)
                    if module.bias is not None:
                        module.bias.zero_()


def output_layer(model: Any) -> Any:
    """The head's last linear layer (the one that produces the logits)."""
    import torch

    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
            if linears:
                return linears[-1]
    raise ValueError(f"{type(model).__name__} has no linear classification head ({' or '.join(HEAD_NAMES)})")


def pooled_position(model: Any, input_ids: Any) -> Any:
    """The position a decoder classifier reads: the last non-pad token (transformers' rule)."""
    import torch

    pad = model.config.pad_token_id
    if pad is None:
        return torch.full((input_ids.shape[0],), input_ids.shape[1] - 1)
    positions = torch.arange(input_ids.shape[1])
    return (positions * (input_ids != pad)).argmax(-1)


def head_features(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int = 64
) -> np.ndarray:
    """Inputs of the output layer for ``texts``, with the model in eval mode (no dropout)."""
    import torch

    layer = output_layer(model)
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda _m, args: captured.append(args[0].detach().float()))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                enc = tokenizer(
                    list(texts[i : i + batch_size]),
                    truncation=True,
                    max_length=max_length,
                    padding=True,
                    return_tensors="pt",
                )
                model(**{k: v.to(device) for k, v in enc.items()})
                if captured[-1].dim() == 3:  # a decoder's head scores every position: keep the one it pools
                    captured[-1] = captured[-1][
                        torch.arange(len(enc["input_ids"])), pooled_position(model, enc["input_ids"])
                    ]
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(captured).cpu().numpy()


def fit_linear(
    features: np.ndarray,
    teacher_logits: np.ndarray,
    *,
    temperature: float = 1.0,
    l2: float = 1e-3,
    iterations: int = 200,
    bias: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``W`` (labels x features) and bias minimising mean cross-entropy to
    softmax(teacher_logits / temperature) + ``l2`` * |W|^2 (full-batch L-BFGS from zero, deterministic)."""
    import torch

    x = torch.from_numpy(np.asarray(features, dtype=np.float64))
    target = torch.softmax(torch.from_numpy(np.asarray(teacher_logits, dtype=np.float64)) / temperature, dim=-1)
    weight = torch.zeros(target.shape[1], x.shape[1], dtype=torch.float64, requires_grad=True)
    offset = torch.zeros(target.shape[1], dtype=torch.float64, requires_grad=bias)
    opt = torch.optim.LBFGS(
        [weight, offset] if bias else [weight],
        lr=1.0,
        max_iter=iterations,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def objective() -> torch.Tensor:
        opt.zero_grad()
        loss = -(target * torch.log_softmax(x @ weight.T + offset, dim=-1)).sum(-1).mean() + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(objective)
    return weight.detach().numpy(), offset.detach().numpy()


def fit_probe_head(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    teacher_logits: np.ndarray,
    *,
    max_length: int,
    temperature: float = 1.0,
    l2: float = 1e-3,
    iterations: int = 200,
) -> dict[str, float]:
    """Fit the output layer to the teacher's probabilities on ``texts`` with the rest of the model
    frozen (:func:`fit_linear` on the layer's inputs). Returns the fit's loss and agreement with the teacher."""
    import torch

    layer = output_layer(model)
    x = head_features(model, tokenizer, texts, max_length)
    teacher_logits = np.asarray(teacher_logits)
    if x.shape[1] != layer.in_features or teacher_logits.shape[1] != layer.out_features:
        raise ValueError(
            f"probe shapes: features {x.shape}, teacher logits {teacher_logits.shape}, head {tuple(layer.weight.shape)}"
        )
    weight, offset = fit_linear(
        x, teacher_logits, temperature=temperature, l2=l2, iterations=iterations, bias=layer.bias is not None
    )
    logits = x @ weight.T + offset
    target, log_probs = softmax(teacher_logits / temperature), log_softmax(logits)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weight).to(layer.weight.dtype))
        if layer.bias is not None:
            layer.bias.copy_(torch.from_numpy(offset).to(layer.bias.dtype))
    return {
        "texts": len(texts),
        "cross_entropy": round(float(-(target * log_probs).sum(-1).mean()), 5),
        "agreement": round(float((logits.argmax(-1) == teacher_logits.argmax(-1)).mean()), 4),
        "weight_norm": round(float(np.linalg.norm(weight)), 4),
    }
