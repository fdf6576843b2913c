"""How much of the teacher a linear probe on a student's frozen features recovers (run by hand).

For each k-shot set (the library's nested sampler) a linear head is fitted to the teacher's
probabilities on the k texts (``codistill.distill.head.fit_linear``, as ``student.head_probe``
does) on two kinds of frozen student features, then scored by agreement with the teacher on the
VALIDATION split carved from the pool (the test split is never read):

* ``head input``: what the student's classification head reads (for BERT, the [CLS] pooler);
* ``mean-pooled``: the attention-masked mean of the last hidden states, L2-normalised (how
  sentence-transformers checkpoints such as all-MiniLM-L6-v2 were trained to be used).

    CODISTILL_HOME=... PYTHONPATH=src python benchmarks/probe_features.py --teacher TEACHER \\
        --task sst2 --data-dir ../shared/data/sst2 --student minilm-l6 --ks 8 16 64 --seeds 0 1
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np


def mean_pooled(encoder, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[i : i + batch_size], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
            )
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
    return torch.cat(out).double().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--student", default="minilm-l6")
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 16, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--l2", type=float, nargs="+", default=[1e-3, 1e-2, 1e-1])
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()

    from transformers import AutoModel

    from codistill.data import DataConfig
    from codistill.data.sampling import sample
    from codistill.distill import DistillSession
    from codistill.distill.head import fit_linear, head_features
    from codistill.models import load_classifier, load_tokenizer, resolve_model

    session = DistillSession()
    data = session.data(DataConfig(task=args.task, data_dir=args.data_dir))
    signals = session.teacher(args.teacher, None, True, data.num_labels)
    ref = resolve_model(args.student)
    tokenizer = load_tokenizer(ref)
    classifier = load_classifier(ref, num_labels=data.num_labels, tokenizer=tokenizer).eval()
    encoder = AutoModel.from_pretrained(ref.path, **ref.pretrained_kwargs()).eval()
    kinds = {
        "head input": lambda texts: head_features(classifier, tokenizer, texts, args.max_length),
        "mean-pooled": lambda texts: mean_pooled(encoder, tokenizer, texts, args.max_length),
    }
    val_texts = [e.text for e in data.validation]
    val_teacher = signals.logits(val_texts).argmax(-1)
    majority = max(np.mean(val_teacher == c) for c in range(data.num_labels))
    val_features = {kind: embed(val_texts) for kind, embed in kinds.items()}
    scores: dict[tuple[str, float, int], list[float]] = {}
    for k, seed in itertools.product(args.ks, args.seeds):
        texts = [e.text for e in sample(data, k, seed).examples]
        logits = signals.logits(texts)
        for kind, embed in kinds.items():
            features = embed(texts)
            for l2 in args.l2:
                weight, bias = fit_linear(features, logits, l2=l2)
                agree = float(np.mean((val_features[kind] @ weight.T + bias).argmax(-1) == val_teacher))
                scores.setdefault((kind, l2, k), []).append(agree)
                print(f"{kind} l2={l2:g} k={k} seed={seed}: validation agreement {agree:.3f}", flush=True)

    print(
        f"\nvalidation agreement with the teacher, %, mean over seeds {args.seeds} "
        f"(teacher's majority label: {100 * majority:.1f}%)\n"
    )
    print(f"| features | L2 | {' | '.join(f'k={k}' for k in args.ks)} |")
    print("|---|---|" + "---|" * len(args.ks))
    for kind, l2 in itertools.product(kinds, args.l2):
        cells = [f"{100 * np.mean(scores[(kind, l2, k)]):.1f}" for k in args.ks]
        print(f"| {kind} | {l2:g} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
