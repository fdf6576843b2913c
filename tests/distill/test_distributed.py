"""Two processes on this CPU (gloo) through `accelerate launch`, exactly as README "Scaling out"
runs them: pairs stay on one rank, every rank takes the same steps, one process writes, teacher
signals are computed sharded and cached, and the result matches one process with the same global
batch (per-process batch x 2 processes = per-process batch x 2 accumulation steps)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from codistill.distill import DistillSession, distill

# the README's command (`ACCELERATE_USE_CPU=1 accelerate launch ...`): CPU processes and gloo even on a GPU machine
LAUNCH = (
    "launch --multi_gpu --num_processes 2 --num_machines 1 --mixed_precision no --dynamo_backend no "
    "--main_process_port 0 -m codistill"
).split()
#: weights of the 2-process student vs the 1-process one (float32 reductions in another order)
WEIGHT_ATOL = 1e-5

pytestmark = pytest.mark.slow


def accelerate_launch(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("accelerate") or str(Path(sys.executable).with_name("accelerate"))
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([exe, *LAUNCH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def without_dropout(model_dir: Path, dest: Path) -> Path:
    """A copy of a tiny model with dropout off, so one and two processes can agree exactly."""
    shutil.copytree(model_dir, dest)
    config = json.loads((dest / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (dest / "config.json").write_text(json.dumps(config))
    return dest


def test_distill_on_two_processes_matches_one_process(tiny_dir, data_config, cf_file, tmp_path):
    from codistill.distill import DistillConfig

    cfg = DistillConfig(
        data=data_config,
        teacher=str(tiny_dir / "teacher"),
        student={"path": str(without_dropout(tiny_dir / "student", tmp_path / "student"))},
        recipe="lwd",
        k=16,
        cod=True,
        counterfactuals=str(cf_file),
        output_dir="two",
        keep_non_flips=True,  # the random tiny teacher flips nothing; the test needs pairs, not flips
    ).with_overrides(["train.max_steps=6", "train.batch_size=4", "train.logging_steps=3"])
    if importlib.util.find_spec("tensorboard"):
        cfg = cfg.with_overrides({"train.report_to": "tensorboard", "train.logging_dir": "tb"})
    cfg.save(tmp_path / "distill.yaml")
    proc = accelerate_launch(["distill", "--config", "distill.yaml"], tmp_path)
    records = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(records) == 1  # the main process reports, once

    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    # no half-written copies; one TensorBoard writer
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "tb") == ["distill.yaml", "student", "two"]
    if cfg.train.report_to == "tensorboard":
        assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1
    dist = two["distributed"]
    assert dist["world_size"] == 2
    # equal steps; each rank trained on whole batches of 2 pairs (4 examples) and never saw half a pair
    norms = [p.pop("term_norm") for p in dist["processes"]]
    assert dist["processes"] == [{"steps": 6, "batches": 6, "examples": 24, "split_groups": 0}] * 2
    assert norms[0] == norms[1]  # the hidden term's projections stayed in sync
    signals = two["signals"]  # the main process ran the teacher on half the texts
    assert signals["computed"] > 0 and 0 <= 2 * signals["forwarded"] - signals["computed"] <= 8

    # one process, the same global batch: 4 per step x 2 accumulation steps
    one_cfg = cfg.with_overrides(
        {"train.gradient_accumulation_steps": 2, "output_dir": str(tmp_path / "one"), "train.report_to": "none"}
    )
    one = distill(one_cfg, session=DistillSession()).metrics
    # both halves of the sharded signals were gathered and cached: the teacher does not run again
    assert one["signals"]["computed"] == 0 and one["signals"]["disk"] > 0
    assert one["distributed"]["processes"][0].pop("term_norm") == pytest.approx(norms[0], rel=1e-6)
    assert one["distributed"] == {
        "world_size": 1,
        "processes": [{"steps": 6, "batches": 12, "examples": 48, "split_groups": 0}],
    }
    a, b = load_file(tmp_path / "two" / "model.safetensors"), load_file(tmp_path / "one" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=WEIGHT_ATOL, rtol=0, msg=name)
    assert [h["step"] for h in two["loss_history"]] == [h["step"] for h in one["loss_history"]] == [3, 6]
    for h2, h1 in zip(two["loss_history"], one["loss_history"]):
        for key in ("loss", "loss_ce", "loss_kd", "loss_hidden"):
            assert h2[key] == pytest.approx(h1[key], rel=1e-4, abs=1e-6), key
    for split in ("validation", "test"):
        assert two[split]["accuracy"] == one[split]["accuracy"] and two[split]["agreement"] == one[split]["agreement"]
        assert two[split]["kl_teacher_student"] == pytest.approx(one[split]["kl_teacher_student"], rel=1e-3, abs=1e-6)


def test_teacher_on_two_processes_matches_one_process(tiny_dir, data_config, tmp_path):
    from codistill.teacher import TeacherConfig, train_teacher

    cfg = TeacherConfig(
        data=data_config,
        model=str(without_dropout(tiny_dir / "teacher", tmp_path / "base")),
        max_train_examples=96,
        output_dir="two",
    ).with_overrides(
        [
            "train.batch_size=8",
            "train.epochs=1",
            "train.eval_steps=3",
            "train.eval_batch_size=16",
            "train.learning_rate=1e-3",
            "train.logging_steps=3",
        ]
    )  # a logged loss is the mean over processes (an unlogged remainder would be the main process's)
    cfg.save(tmp_path / "teacher.yaml")
    proc = accelerate_launch(["teacher", "--config", "teacher.yaml"], tmp_path)
    assert sum(line.startswith("trained in") for line in proc.stdout.splitlines()) == 1  # the main process reports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "teacher.yaml", "two"]  # one writer, no leftovers
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    # 96 examples, 8 per process and step, 2 processes: 6 steps (not 12) for one epoch
    assert two["train_steps"] == 6 and [h["step"] for h in two["validation_history"]] == [3, 6]

    one = train_teacher(
        cfg.with_overrides({"train.gradient_accumulation_steps": 2, "output_dir": str(tmp_path / "one")})
    ).metrics
    assert one["fingerprint"] != two["fingerprint"]  # the number of processes is part of the cache key
    assert one["train_steps"] == 6 and one["selected_step"] == two["selected_step"]
    a, b = load_file(tmp_path / "two" / "model.safetensors"), load_file(tmp_path / "one" / "model.safetensors")
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=WEIGHT_ATOL, rtol=0, msg=name)
    assert one["train_loss"] == pytest.approx(two["train_loss"], rel=1e-4)
    assert (one["test"], one["validation"]) == (two["test"], two["validation"])


SIGNALS_WORKER = """
import sys, numpy as np
from codistill.distill.signals import TeacherSignals
from codistill.models import load_scorer
from codistill.utils import distributed

teacher, caches, out, texts = sys.argv[1], sys.argv[2].split(","), sys.argv[3], open(sys.argv[4]).read().splitlines()
distributed.init()
rank = distributed.rank()
model, tokenizer, fingerprint = load_scorer(teacher, num_labels=2)
signals = TeacherSignals(model, tokenizer, fingerprint, 64, cache_dir=caches[rank], batch_size=16)
logits = signals.logits(texts)
np.save(f"{out}/logits{rank}.npy", logits)
np.save(f"{out}/stats{rank}.npy", np.array([signals.stats[k] for k in ("disk", "computed", "forwarded")]))
"""


def test_teacher_signals_are_computed_sharded_gathered_once_and_cached(tiny_dir, tmp_path):
    from codistill.distill.signals import TeacherSignals
    from codistill.models import load_scorer

    texts = [
        f"the film was {w} and {v} {i}"
        for i, (w, v) in enumerate(zip(["good", "bad", "dull", "great"] * 50, ["slow", "fine"] * 100))
    ]
    (tmp_path / "texts.txt").write_text("\n".join(texts))
    (tmp_path / "worker.py").write_text(SIGNALS_WORKER)
    model, tokenizer, fingerprint = load_scorer(str(tiny_dir / "teacher"), num_labels=2)
    reference = TeacherSignals(model, tokenizer, fingerprint, 64, cache_dir=tmp_path / "cache1").logits(texts)
    # rank 1's disk cache already holds the first 50 texts (as a concurrent run might have left
    # them): the processes agree on the union of what is missing anywhere and split it
    TeacherSignals(model, tokenizer, fingerprint, 64, cache_dir=tmp_path / "cache1b").logits(texts[:50])
    shutil.rmtree(tmp_path / "cache1")
    (tmp_path / "cache1b").rename(tmp_path / "cache1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "worker.py",
        str(tiny_dir / "teacher"),
        f"{tmp_path / 'cache0'},{tmp_path / 'cache1'}",
        str(tmp_path),
        "texts.txt",
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for rank in (0, 1):  # every process holds every text's logits, equal to one process's
        np.testing.assert_allclose(np.load(tmp_path / f"logits{rank}.npy"), reference, atol=1e-5)
    (disk0, computed0, forwarded0), (disk1, computed1, forwarded1) = (
        np.load(tmp_path / f"stats{r}.npy") for r in (0, 1)
    )
    assert (disk0, disk1) == (0, 50) and computed0 == computed1 == 200 and forwarded0 == forwarded1 == 100
    # the main process stored all 200 once: a fresh one-process reader never runs the teacher
    again = TeacherSignals(model, tokenizer, fingerprint, 64, cache_dir=tmp_path / "cache0")
    np.testing.assert_allclose(again.logits(texts), reference, atol=1e-5)
    assert again.stats["computed"] == 0 and again.stats["disk"] == 200
