import pytest

from codistill.data import DataConfig, load_task
from codistill.data.loading import validation_count
from codistill.errors import DataError
from tests.conftest import write_jsonl


def _rows(n, offset=0):
    return [{"text": f"text number {i + offset}", "label": i % 2} for i in range(n)]


def test_splits_are_disjoint_and_validation_is_stratified(sentiment_dir):
    data = load_task(DataConfig(task="local", data_dir=str(sentiment_dir), validation_size=40))
    pool, val, test = ({e.text for e in s} for s in (data.pool, data.validation, data.test))
    assert not pool & val and not pool & test and not val & test
    assert len(data.validation) == 40
    pos = sum(e.label for e in data.validation)
    pool_rate = sum(e.label for e in data.pool + data.validation) / (len(data.pool) + len(data.validation))
    assert abs(pos / 40 - pool_rate) <= 1 / 40 + 1e-9


def test_split_seed_is_deterministic_and_matters(sentiment_dir):
    def ids(seed):
        return [
            e.id for e in load_task(DataConfig(task="local", data_dir=str(sentiment_dir), split_seed=seed)).validation
        ]

    assert ids(0) == ids(0)
    assert ids(0) != ids(1)


def test_cleaning_drops_duplicates_conflicts_and_test_leaks(tmp_path):
    train = _rows(20) + [
        {"text": "text number 0", "label": 0},
        {"text": "clash", "label": 0},
        {"text": "clash", "label": 1},
    ]
    train += [{"text": "in test", "label": 1}]
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", [{"text": "in test", "label": 1}, {"text": "other", "label": 0}])
    data = load_task(DataConfig(task="local", data_dir=str(tmp_path), validation_size=4))
    texts = [e.text for e in data.pool + data.validation]
    assert len(texts) == len(set(texts)) == 20
    assert "clash" not in texts and "in test" not in texts
    assert any("duplicate" in n for n in data.notes) and any("conflicting" in n for n in data.notes)


def test_validation_file_is_used_when_present(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", _rows(30))
    write_jsonl(tmp_path / "validation.jsonl", _rows(6, offset=100))
    write_jsonl(tmp_path / "test.jsonl", _rows(6, offset=200))
    data = load_task(DataConfig(task="local", data_dir=str(tmp_path)))
    assert len(data.pool) == 30 and [e.id for e in data.validation] == [f"validation-{i}" for i in range(6)]


def test_validation_size_rules():
    cfg = DataConfig()
    assert validation_count(10_000, cfg) == 500
    assert validation_count(1_000, cfg) == 200  # capped at 20% of a small pool
    assert validation_count(1_000, DataConfig(validation_size=0.1)) == 100


def test_local_label_names_and_fingerprint(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"t{i}", "label": ["bad", "good"][i % 2]} for i in range(20)])
    write_jsonl(tmp_path / "test.jsonl", [{"text": "x", "label": "good"}])
    cfg = DataConfig(task="local", data_dir=str(tmp_path), label_names=["bad", "good"], validation_size=4)
    a, b = load_task(cfg), load_task(cfg)
    assert a.task.label_names == ("bad", "good") and a.fingerprint == b.fingerprint
    write_jsonl(tmp_path / "test.jsonl", [{"text": "x", "label": "bad"}])
    assert load_task(cfg).fingerprint != a.fingerprint


def test_label_names_only_for_local(sentiment_dir):
    with pytest.raises(DataError, match="only be set for the local task"):
        load_task(DataConfig(task="imdb", data_dir=str(sentiment_dir), label_names=["a", "b"]))


def test_single_class_pool_is_an_error(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": f"t{i}", "label": 1} for i in range(20)])
    write_jsonl(tmp_path / "test.jsonl", [{"text": "x", "label": 0}])
    with pytest.raises(DataError, match="no examples of 0"):
        load_task(DataConfig(task="local", data_dir=str(tmp_path)))


def test_local_task_without_data_dir():
    with pytest.raises(DataError, match="pass --data-dir"):
        load_task(DataConfig(task="local"))


def test_unknown_source():
    with pytest.raises(DataError, match="no source 'nope'"):
        load_task(DataConfig(task="sst2", source="nope"))
