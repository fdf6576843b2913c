"""Speed benchmark: codistill vs a reference-style distillation loop (run by hand).

Same distillation both ways: the SST-2 MiniLM-L6 teacher -> 2-layer MiniLM student (layers 0
and 5), k=32, batch 8, 100 steps, ce + 20 * T^2 * KL at T = 2, AdamW, linear schedule with 10%
warmup, lr 1e-4. The reference loop does what the CoD/TED scripts do: tokenise every batch every
step, run the teacher forward every step, update every parameter (word embeddings included)
and evaluate the student on the test set after every epoch (25 epochs of 4 steps). codistill
caches teacher signals, freezes the word embeddings, and evaluates once at the end.

Prints the wall-time ratio, both accuracies, a per-phase breakdown of the student's training
step (frozen vs trainable embeddings), and the FLOP floor of the student's training steps
against the measured matmul rate.

    PYTHONPATH=src python benchmarks/distill_speed.py \
        --teacher teachers/sst2 --data-dir ../shared/data/sst2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F


def reference_loop(teacher, tok, student, train, test, *, steps, batch_size, lr, warmup, max_length, seed):
    """Plain PyTorch, the way the reference scripts do it."""
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, int(warmup * steps), steps)
    texts, labels = [e.text for e in train], torch.tensor([e.label for e in train])
    step, evals, accs = 0, 0, []
    teacher.eval()
    while step < steps:
        student.train()
        order = rng.permutation(len(texts))
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            enc = tok(
                [texts[j] for j in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            with torch.no_grad():
                t_logits = teacher(**enc).logits
            s_logits = student(**enc).logits
            y = labels[idx]
            kd = F.kl_div(F.log_softmax(s_logits / 2, -1), F.softmax(t_logits / 2, -1), reduction="batchmean") * 4
            loss = F.cross_entropy(s_logits, y) + 20 * kd
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step >= steps:
                break
        # evaluate every epoch, unsorted batches of 32
        student.eval()
        preds = []
        with torch.no_grad():
            for i in range(0, len(test), 32):
                enc = tok(
                    [e.text for e in test[i : i + 32]],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                preds.append(student(**enc).logits.argmax(-1))
        acc = float((torch.cat(preds).numpy() == np.array([e.label for e in test])).mean())
        accs.append(acc)
        evals += 1
    return accs[-1], evals


def step_profile(student, tok, texts, labels, *, freeze: bool, repeats: int = 20, max_length: int = 128):
    """Mean forward / backward / AdamW-update times (ms) of one batch-8 student step."""
    import copy

    model = copy.deepcopy(student)
    if freeze:
        model.get_input_embeddings().weight.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    enc = tok(texts[:8], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    y = torch.tensor(labels[:8])
    t_f = t_b = t_o = 0.0
    for r in range(repeats + 3):
        a = time.perf_counter()
        loss = F.cross_entropy(model(**enc).logits, y)
        b = time.perf_counter()
        loss.backward()
        c = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        d = time.perf_counter()
        if r >= 3:
            t_f, t_b, t_o = t_f + b - a, t_b + c - b, t_o + d - c
    n = repeats
    return {
        "forward_ms": 1e3 * t_f / n,
        "backward_ms": 1e3 * t_b / n,
        "update_ms": 1e3 * t_o / n,
        "seq_len": enc["input_ids"].shape[1],
    }


def matmul_rate(m: int, k: int, n: int, repeats: int = 50) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(5):
        a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * m * k * n * repeats / (time.perf_counter() - t)


def student_train_flops(config, tokens: int) -> float:
    """~6 * tokens * (non-embedding parameters) + attention score/mix matmuls (x3 for training)."""
    h, f, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_layer = 4 * h * h + 2 * h * f
    return 6 * tokens * n * per_layer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True, help="fine-tuned teacher directory (codistill teacher -o DIR)")
    ap.add_argument("--data-dir", default="../shared/data/sst2")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads (1 is faster and far steadier on a shared 2-core box)"
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from codistill.data import DataConfig, load_task, sample
    from codistill.distill import DistillConfig, DistillSession, distill
    from codistill.models import keep_layers, load_classifier, load_tokenizer
    from codistill.models.loading import quiet_transformers
    from codistill.utils.seed import seed_everything

    quiet_transformers()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    data_cfg = DataConfig(task="sst2", data_dir=args.data_dir)
    data = load_task(data_cfg)
    train = list(sample(data, args.k, args.seed).examples)

    cfg = DistillConfig(
        data=data_cfg,
        teacher=args.teacher,
        k=args.k,
        seed=args.seed,
        recipe="kd",
        save_model=False,
    ).with_overrides(
        {
            "train.max_steps": args.steps,
            "train.batch_size": 8,
            "train.learning_rate": args.lr,
            "train.warmup_ratio": 0.1,
            "student.derive.source": "minilm-l6",
        }
    )

    results = {}
    # 1. codistill, cold signal cache (fresh CODISTILL_HOME): teacher signals computed inside the timing
    with tempfile.TemporaryDirectory() as home:
        os.environ["CODISTILL_HOME"] = home
        session = DistillSession()
        session.data(data_cfg)  # data loading is outside every timing, as for the reference
        t = time.perf_counter()
        cold = distill(cfg, session=session)
        results["codistill_cold"] = {
            "seconds": time.perf_counter() - t,
            "accuracy": cold.metrics["test"]["accuracy"],
            "timings": cold.timings,
        }
        # 2. codistill, warm (what a sweep sees after its first run: same teacher, same texts)
        t = time.perf_counter()
        warm = distill(cfg, session=session)
        results["codistill_warm"] = {
            "seconds": time.perf_counter() - t,
            "accuracy": warm.metrics["test"]["accuracy"],
            "timings": warm.timings,
        }
        # 3. codistill without freezing embeddings (the embedding-update cost, measured)
        t = time.perf_counter()
        unfrozen = distill(cfg.with_overrides({"student.freeze_embeddings": False}), session=session)
        results["codistill_warm_unfrozen"] = {
            "seconds": time.perf_counter() - t,
            "accuracy": unfrozen.metrics["test"]["accuracy"],
            "timings": unfrozen.timings,
        }

    # 4. reference loop (teacher + student loaded outside the timing, like codistill's session)
    tok = load_tokenizer(args.teacher)
    teacher = load_classifier(args.teacher, tokenizer=tok)
    seed_everything(0)
    base = keep_layers(load_classifier("minilm-l6", tokenizer=tok), 2)
    from codistill.distill.head import reinit_head

    reinit_head(base, args.seed)
    t = time.perf_counter()
    ref_acc, evals = reference_loop(
        teacher,
        tok,
        base,
        train,
        data.test,
        steps=args.steps,
        batch_size=8,
        lr=args.lr,
        warmup=0.1,
        max_length=128,
        seed=args.seed,
    )
    results["reference"] = {"seconds": time.perf_counter() - t, "accuracy": ref_acc, "epoch_evaluations": evals}

    # 5. where the time goes: one student step, and the FLOP floor
    seed_everything(0)
    student = keep_layers(load_classifier("minilm-l6", tokenizer=tok), 2)
    texts, labels = [e.text for e in train], [e.label for e in train]
    rounds = {True: [], False: []}
    for _ in range(3):  # interleaved rounds, median per phase: robust to other jobs on the machine
        for freeze in (True, False):
            rounds[freeze].append(step_profile(student, tok, texts, labels, freeze=freeze))
    prof_frozen, prof_full = (
        {k: float(np.median([r[k] for r in rounds[f]])) for k in rounds[f][0]} for f in (True, False)
    )
    enc = tok(texts, truncation=True, max_length=128)
    mean_tokens = float(np.mean([len(x) for x in enc["input_ids"]]))
    tokens_per_step_padded = int(prof_frozen["seq_len"]) * 8
    flops_per_step = student_train_flops(student.config, tokens_per_step_padded)
    rate = matmul_rate(8 * int(prof_frozen["seq_len"]), 384, 1536)
    results["step_profile"] = {"frozen_embeddings": prof_frozen, "trainable_embeddings": prof_full}
    results["flops"] = {
        "mean_tokens_per_text": mean_tokens,
        "student_train_flops_per_step": flops_per_step,
        "matmul_gflops_measured": rate / 1e9,
        "floor_ms_per_step": 1e3 * flops_per_step / rate,
        "floor_seconds_for_steps": args.steps * flops_per_step / rate,
    }

    ref, cw, cc = results["reference"], results["codistill_warm"], results["codistill_cold"]
    print(json.dumps(results, indent=2, default=float))
    print(
        f"\nreference loop       {ref['seconds']:7.1f}s  test acc {ref['accuracy']:.4f}  ({ref['epoch_evaluations']} epoch evaluations)"
    )
    print(
        f"codistill (cold)     {cc['seconds']:7.1f}s  test acc {cc['accuracy']:.4f}  speed-up {ref['seconds'] / cc['seconds']:.1f}x"
    )
    print(
        f"codistill (warm)     {cw['seconds']:7.1f}s  test acc {cw['accuracy']:.4f}  speed-up {ref['seconds'] / cw['seconds']:.1f}x"
    )
    uf = results["codistill_warm_unfrozen"]
    print(f"codistill (warm, trainable embeddings) {uf['seconds']:7.1f}s  test acc {uf['accuracy']:.4f}")
    for name, p in results["step_profile"].items():
        print(
            f"step ({name:20s}) forward {p['forward_ms']:.1f} ms  backward {p['backward_ms']:.1f} ms  update {p['update_ms']:.1f} ms  (seq {p['seq_len']})"
        )
    fl = results["flops"]
    print(
        f"FLOP floor: {fl['student_train_flops_per_step'] / 1e9:.2f} GFLOP/step at {fl['matmul_gflops_measured']:.1f} GFLOP/s = {fl['floor_ms_per_step']:.1f} ms/step, {fl['floor_seconds_for_steps']:.2f}s for {args.steps} steps"
    )


if __name__ == "__main__":
    main()
