"""Tiny models and a tiny local task for distillation tests (no network, no ../shared)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

POS = "good great fine excellent wonderful brilliant moving funny charming best love loved".split()
NEG = "bad awful terrible boring dull worst poor hate hated mess weak slow".split()


def _rows(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(n):
        label = i % 2
        a, b, c = rng.sample(POS if label else NEG, 3)
        rows.append({"text": f"the film was {a} and {b} really {c} {i}", "label": label})
    return rows


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from codistill.testing import make_tiny_model

    root = tmp_path_factory.mktemp("tiny")
    make_tiny_model("bert", root / "teacher", num_layers=4, hidden=32, seed=0)
    make_tiny_model("bert", root / "student", num_layers=2, hidden=16, seed=1)
    data = root / "data"
    data.mkdir()
    rng = random.Random(0)
    for split, n in (("train", 160), ("test", 30)):
        with open(data / f"{split}.jsonl", "w") as handle:
            for row in _rows(n, rng):
                handle.write(json.dumps(row) + "\n")
    return root


@pytest.fixture(scope="session")
def data_config(tiny_dir):
    from codistill.data import DataConfig

    return DataConfig(
        task="local", data_dir=str(tiny_dir / "data"), label_names=["negative", "positive"], validation_size=30
    )


@pytest.fixture(scope="session")
def task_data(data_config):
    from codistill.data import load_task

    return load_task(data_config)


@pytest.fixture(scope="session")
def cf_file(tiny_dir, task_data) -> Path:
    """A hand-written counterfactual file: swap sentiment words for every pool example (the
    labels written are deliberately the *gold* flip; the engine relabels with the teacher)."""
    from codistill.counterfactuals import CounterfactualRecord, write_counterfactuals

    swap = dict(zip(POS, NEG)) | dict(zip(NEG, POS))
    records = [
        CounterfactualRecord(
            original_id=e.id,
            counterfactual_text=" ".join(swap.get(w, w) for w in e.text.split()),
            counterfactual_label=1 - e.label,
            original_text=e.text,
            original_label=e.label,
            generator="test-swap",
        )
        for e in task_data.pool
    ]
    return write_counterfactuals(tiny_dir / "cf.jsonl", records)


@pytest.fixture()
def base_config(tiny_dir, data_config, tmp_path, monkeypatch):
    from codistill.distill import DistillConfig

    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path / "home"))
    return DistillConfig(
        data=data_config,
        teacher=str(tiny_dir / "teacher"),
        student={"path": str(tiny_dir / "student")},
        k=8,
        seed=0,
        cod_mode="paper",  # engine tests count the paper's fixed budget (k/2 originals + their counterfactuals)
        output_dir=str(tmp_path / "run"),
        # the hand-written swap file does not flip the tiny random teacher; engine tests keep them
        keep_non_flips=True,
    ).with_overrides(["train.max_steps=6", "train.batch_size=4", "train.logging_steps=3"])
