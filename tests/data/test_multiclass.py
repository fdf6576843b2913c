"""Tasks with more than two classes: label names from the files, k-shot budgets over C classes."""

import random
from collections import Counter

import pytest

from codistill.data import DataConfig, load_task, sample
from codistill.data.sampling import k_for_per_class
from codistill.data.tasks import get_task, task_kind
from codistill.errors import BudgetError, DataError
from tests.conftest import write_jsonl

NAMES = ("city", "person", "number")


def rows(n, seed, sizes=None):
    rng = random.Random(seed)
    sizes = sizes or [n // 3] * 3
    return [
        {"text": f"row {seed} {lab} {i} {rng.random():.6f}", "label": NAMES[lab]}
        for lab, m in enumerate(sizes)
        for i in range(m)
    ]


@pytest.fixture
def three_class_dir(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", rows(0, 1, sizes=[40, 60, 12]))
    write_jsonl(tmp_path / "test.jsonl", rows(0, 2, sizes=[5, 5, 5]))
    return tmp_path


@pytest.fixture
def data(three_class_dir):
    return load_task(DataConfig(task="local", data_dir=str(three_class_dir), validation_size=6))


def test_label_names_come_from_the_files(data):
    assert data.task.label_names == ("city", "number", "person")  # text labels: sorted, index = id
    assert data.num_labels == 3 and task_kind(data.task) == "generic"


def test_integer_labels_name_themselves(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"t{i}", "label": i % 4} for i in range(80)])
    write_jsonl(tmp_path / "test.jsonl", [{"text": f"u{i}", "label": i % 4} for i in range(8)])
    data = load_task(DataConfig(task="local", data_dir=str(tmp_path), validation_size=8))
    assert data.task.label_names == ("0", "1", "2", "3")


def test_one_label_value_is_an_error(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"t{i}", "label": "a"} for i in range(8)])
    write_jsonl(tmp_path / "test.jsonl", [{"text": "u", "label": "a"}])
    with pytest.raises(DataError, match="only one label value"):
        load_task(DataConfig(task="local", data_dir=str(tmp_path)))


@pytest.mark.parametrize("k", [3, 4, 5, 7, 9, 12])
def test_k_in_total_is_balanced_as_evenly_as_possible(data, k):
    for seed in range(4):
        counts = Counter(e.label for e in sample(data, k, seed).examples)
        assert sum(counts.values()) == k and len(counts) == 3
        assert max(counts.values()) - min(counts.values()) <= 1


def test_nested_across_k_and_seeded(data):
    for seed in range(3):
        ids = {k: sample(data, k, seed).ids for k in (3, 5, 9, 12, 24)}
        for small, big in ((3, 5), (5, 9), (9, 12), (12, 24)):
            assert ids[big][:small] == ids[small]
        assert sample(data, 12, seed, cod=True).ids == ids[12][:6]
    assert sample(data, 9, 0).ids != sample(data, 9, 1).ids


def test_the_extra_example_goes_to_classes_chosen_by_the_seed(data):
    extras = {
        max(Counter(e.label for e in sample(data, 4, seed).examples).items(), key=lambda kv: kv[1])[0]
        for seed in range(12)
    }
    assert len(extras) > 1  # not always label 0


def test_per_class_form(data):
    k = k_for_per_class(4, data.num_labels)
    assert k == 12
    assert Counter(e.label for e in sample(data, k, 0).examples) == {0: 4, 1: 4, 2: 4}


@pytest.mark.parametrize("k, message", [(2, "at least 3"), (60, "class 'number' has only")])
def test_impossible_budgets_are_one_line_errors(data, k, message):
    with pytest.raises(BudgetError, match=message) as err:
        sample(data, k, 0)
    assert "\n" not in str(err.value)


def test_bad_per_class():
    with pytest.raises(BudgetError, match="positive integer"):
        k_for_per_class(0, 3)


def test_registered_multiclass_tasks():
    for name in ("trec", "emotion"):
        task = get_task(name)
        assert task.num_labels == 6 and task.primary_metric == "macro_f1" and task_kind(task) == "generic"
    assert task_kind(get_task("sst2")) == "sentiment" and task_kind(get_task("cola")) == "acceptability"
