"""Latency and throughput of classifiers with PyTorch and ONNX (fp32 / dynamic int8) on real texts.

    python benchmarks/latency.py --model minilm-l6 --model mpnet-base --texts DATA/sst2/test.jsonl

Each model is loaded as a sequence classifier (a packaged encoder gets a fresh head: latency does
not depend on the head's weights), exported with codistill's exporter into a temporary folder, and
timed at batch 1 and 32 on CPU with one thread and with all threads (and on CUDA with torch when a
device is present). Prints a markdown table: ms per batch (median) and texts per second.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def read_texts(path: str, n: int) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line, _ in zip(handle, range(n))]


def timed(fn, batches: list[list[str]], warmup: int = 2) -> tuple[float, float]:
    """(median ms per batch, texts per second) of ``fn`` over ``batches``."""
    for b in batches[:warmup]:
        fn(b)
    times = []
    for b in batches:
        start = time.perf_counter()
        fn(b)
        times.append(time.perf_counter() - start)
    texts = sum(len(b) for b in batches)
    return 1000 * statistics.median(times), texts / sum(times)


def make_batches(texts: list[str], size: int, count: int) -> list[list[str]]:
    return [texts[(i * size) % len(texts) : (i * size) % len(texts) + size] for i in range(count)]


def bench_model(name: str, texts: list[str], args: argparse.Namespace, rows: list[dict]) -> None:
    import torch

    from codistill.export.api import INT8_FILE, MODEL_FILE, quantize_int8, trace
    from codistill.export.check import OnnxClassifier
    from codistill.export.loading import Exporter, load_exportable

    torch.manual_seed(0)
    found = load_exportable(name, max_length=args.max_length)
    params = sum(p.numel() for p in found.module.parameters()) / 1e6
    label = f"{name} ({params:.1f}M)"
    tmp = Path(tempfile.mkdtemp(prefix="latency-"))
    trace(found, tmp / MODEL_FILE, Exporter.TORCHSCRIPT, 17)
    quantize_int8(tmp / MODEL_FILE, tmp / INT8_FILE)
    all_threads = os.cpu_count() or 1
    thread_counts = [1] + ([all_threads] if args.all_threads and all_threads > 1 else [])

    def torch_fn(device: str):
        module = found.module.to(device)

        def run(batch: list[str]) -> None:
            enc = found.tokenizer(
                batch, padding=True, truncation=True, max_length=found.max_length, return_tensors="pt"
            )
            with torch.inference_mode():
                module(*(enc[n].to(device) for n in found.input_names))
            if device == "cuda":
                torch.cuda.synchronize()

        return run

    for batch_size in args.batch_sizes:
        batches = make_batches(texts, batch_size, args.batches if batch_size > 1 else args.batches * 4)
        for threads in thread_counts:
            torch.set_num_threads(threads)
            where = f"CPU {threads} thread{'s' if threads > 1 else ''}"
            rows.append(
                {
                    "model": label,
                    "runtime": "PyTorch fp32",
                    "device": where,
                    "batch": batch_size,
                    **_pair(timed(torch_fn("cpu"), batches)),
                }
            )
            for file, runtime in ((MODEL_FILE, "ONNX fp32"), (INT8_FILE, "ONNX int8")):
                runner = OnnxClassifier(tmp / file, found.tokenizer, found.max_length, threads=threads)
                rows.append(
                    {
                        "model": label,
                        "runtime": runtime,
                        "device": where,
                        "batch": batch_size,
                        **_pair(timed(lambda b, r=runner: r.run(r.encode(b)), batches)),
                    }
                )
                del runner  # an onnxruntime session's spinning threads must not outlive its own rows
                gc.collect()
        if torch.cuda.is_available():
            rows.append(
                {
                    "model": label,
                    "runtime": "PyTorch fp32",
                    "device": torch.cuda.get_device_name(),
                    "batch": batch_size,
                    **_pair(timed(torch_fn("cuda"), batches, warmup=5)),
                }
            )
            found.module.to("cpu")
        print(f"done {label} batch {batch_size}", flush=True)


def _pair(result: tuple[float, float]) -> dict[str, float]:
    return {"ms": result[0], "per_s": result[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", action="append", required=True, help="Packaged name or model directory (repeatable)."
    )
    parser.add_argument("--texts", required=True, help="jsonl with a text field (e.g. the SST-2 test split).")
    parser.add_argument("--n-texts", type=int, default=512)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--batches", type=int, default=8, help="Timed batches per setting (x4 at batch 1).")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--no-all-threads", dest="all_threads", action="store_false", help="Only one CPU thread.")
    args = parser.parse_args()
    texts = read_texts(args.texts, args.n_texts)
    rows: list[dict] = []
    load_before = os.getloadavg()[0]
    for name in args.model:
        bench_model(name, texts, args, rows)
    # the rows are only comparable on a quiet machine: say how busy it was
    print(f"\n{os.cpu_count()} CPUs; 1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print("\n| model | runtime | device | batch | ms / batch (median) | texts / s |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['runtime']} | {r['device']} | {r['batch']} | {r['ms']:.1f} | {r['per_s']:.1f} |")


if __name__ == "__main__":
    main()
