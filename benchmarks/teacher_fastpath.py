"""Cost of a large teacher on CPU, and approximate inference paths for screening (run by hand).

Scores a task's TEST split (reported only; nothing is selected here) with the exact fp32 teacher,
a dynamic-int8 copy (``torch.ao.quantization.quantize_dynamic`` over the Linear layers) and a
bf16 copy (what ``verify.screen_dtype=bf16`` screens with) and ``torch.autocast`` to bf16 over the fp32
weights; prints texts/s for each and the label agreement of each approximation with the exact
teacher (the bar for using one to screen counterfactual candidates: >= 99.5%). The counterfactual
editor calls the teacher ~8 times per input (docs/results.md, "Counterfactual generators"), so verified/s ~ texts/s / 8.

    PYTHONPATH=src python benchmarks/teacher_fastpath.py --teacher TEACHER_DIR --data-dir ../shared/data/sst2
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test texts")
    args = parser.parse_args()

    import torch

    from codistill.data import DataConfig, load_task
    from codistill.evaluation import predict_logits
    from codistill.models import load_scorer

    data = load_task(DataConfig(task=args.task, data_dir=args.data_dir))
    texts = [e.text for e in data.test][: args.limit]
    model, tokenizer, _ = load_scorer(args.teacher, num_labels=data.num_labels)
    model.eval()
    variants = {"fp32 (exact)": model}
    variants["dynamic int8"] = torch.ao.quantization.quantize_dynamic(
        copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
    )
    variants["bf16"] = copy.deepcopy(model).to(torch.bfloat16)  # what verify.screen_dtype=bf16 uses

    class Autocast(torch.nn.Module):  # the alternative: fp32 weights, bf16 matmuls under torch.autocast
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def forward(self, **inputs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self.inner(**inputs)

    variants["bf16 autocast"] = Autocast(model)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(texts)} test texts, max_length {args.max_length}"
    )
    exact = None
    print("| teacher | texts/s | agreement with exact (test) | accuracy (test) |\n|---|---|---|---|")
    for name, m in variants.items():
        started = time.perf_counter()
        logits = predict_logits(m, tokenizer, texts, batch_size=args.batch_size, max_length=args.max_length)
        seconds = time.perf_counter() - started
        labels = np.asarray(logits, dtype=np.float32).argmax(-1)
        exact = labels if exact is None else exact
        gold = np.array([e.label for e in data.test][: len(texts)])
        print(
            f"| {name} | {len(texts) / seconds:.1f} | {100 * (labels == exact).mean():.2f}% | {100 * (labels == gold).mean():.2f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
