"""The six-class shared data sets (TREC question types, emotion): skipped when absent."""

from __future__ import annotations

from collections import Counter

import pytest

from codistill.data import DataConfig, load_task, sample
from codistill.data.sampling import k_for_per_class
from tests.conftest import SHARED_DATA


@pytest.mark.parametrize("task", ["trec", "emotion"])
def test_six_classes_load_and_sample_balanced(task):
    root = SHARED_DATA / task
    if not (root / "train.jsonl").is_file():
        pytest.skip(f"shared data {task} not present")
    data = load_task(DataConfig(task=task, data_dir=str(root)))
    assert data.num_labels == 6 and data.task.primary_metric == "macro_f1"
    assert set(Counter(e.label for e in data.test)) == set(range(6))
    for k in (6, 9, 24):
        counts = Counter(e.label for e in sample(data, k, 0).examples)
        assert sum(counts.values()) == k and len(counts) == 6 and max(counts.values()) - min(counts.values()) <= 1
    assert Counter(e.label for e in sample(data, k_for_per_class(4, 6), 1).examples) == {c: 4 for c in range(6)}


def test_local_task_takes_label_names_from_the_files():
    root = SHARED_DATA / "trec"
    if not (root / "train.jsonl").is_file():
        pytest.skip("shared data trec not present")
    data = load_task(DataConfig(task="local", data_dir=str(root)))
    assert data.task.label_names == ("0", "1", "2", "3", "4", "5")
