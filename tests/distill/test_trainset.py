"""Which counterfactuals a CoD run trains on: verified flips of this teacher, for these texts."""

import numpy as np
import pytest

from codistill.counterfactuals import CounterfactualRecord
from codistill.data import sample
from codistill.distill import DistillConfig
from codistill.distill.trainset import build_train_set
from codistill.errors import DataError


class WordTeacher:
    """Predicts positive iff the text contains 'good' (a stand-in for cached teacher signals)."""

    def predictions(self, texts):
        return np.array([int("good" in t.split()) for t in texts])


@pytest.fixture
def setup(task_data, data_config):
    config = DistillConfig(
        data=data_config, teacher="t", k=8, seed=0, cod=True, cod_mode="paper", counterfactuals="cf.jsonl"
    )
    originals = sample(task_data, 8, 0, cod=True).examples

    def record(e, text, original_text=None):
        return CounterfactualRecord(
            e.id, text, 1 - e.label, original_text=e.text if original_text is None else original_text
        )

    return config, originals, record


def test_non_flips_are_dropped_by_default_and_kept_on_request(setup, task_data):
    config, originals, record = setup
    flips = [record(e, "good" if "good" not in e.text.split() else "bad") for e in originals[:3]]
    stays = [record(originals[3], originals[3].text + " !")]  # same prediction as the original
    train = build_train_set(config, task_data, WordTeacher(), flips + stays)
    assert train.report["counterfactuals"] == 3 and train.report["dropped"]["not_flipped"] == 1
    assert len(train.items) == 4 + 3
    kept = build_train_set(config.with_overrides({"keep_non_flips": True}), task_data, WordTeacher(), flips + stays)
    assert kept.report["counterfactuals"] == 4 and kept.report["dropped"]["not_flipped"] == 0


def test_record_must_match_the_pool_text_not_only_the_id(setup, task_data):
    config, originals, record = setup
    ok = record(originals[0], "good" if "good" not in originals[0].text.split() else "bad")
    other = record(
        originals[1], "good" if "good" not in originals[1].text.split() else "bad", original_text="another task's text"
    )
    train = build_train_set(config, task_data, WordTeacher(), [ok, other])
    assert train.report["counterfactuals"] == 1 and train.report["dropped"]["original_text_differs"] == 1


def test_cod_with_nothing_attached_is_a_one_line_error(setup, task_data):
    config, originals, record = setup
    foreign = [CounterfactualRecord("other-task-7", "good", 1)]
    with pytest.raises(DataError, match="no counterfactual in cf.jsonl attaches") as info:
        build_train_set(config, task_data, WordTeacher(), foreign)
    assert "\n" not in str(info.value)
    non_flips = [record(e, e.text + " !") for e in originals]
    with pytest.raises(DataError, match="4 not flipped"):
        build_train_set(config, task_data, WordTeacher(), non_flips)


def test_cod_half_is_class_balanced_or_rejected(task_data, data_config):
    from codistill.errors import BudgetError

    for k in (2, 6):  # k=2 gave one class, k=6 a 2:1 split
        config = DistillConfig(data=data_config, teacher="t", k=k, seed=0, cod=True, cod_mode="paper")
        with pytest.raises(BudgetError, match="cannot be split evenly"):
            build_train_set(config, task_data, WordTeacher(), None)
    train = build_train_set(
        DistillConfig(data=data_config, teacher="t", k=12, seed=0, cod=True, cod_mode="paper"),
        task_data,
        WordTeacher(),
        None,
    )
    assert sorted(e.label for e in train.originals) == [0, 0, 0, 1, 1, 1]


def test_odd_batch_size_is_rejected_for_cod(data_config):
    from codistill.errors import ConfigError

    base = DistillConfig(data=data_config, teacher="t", k=8)
    assert base.with_overrides(["train.batch_size=3"]).train.batch_size == 3  # the baseline may
    with pytest.raises(ConfigError, match="even train.batch_size"):
        base.with_overrides(["cod=true", "train.batch_size=3"])


class Signals(WordTeacher):
    fingerprint, max_length = "teacher-A", 128


def test_counterfactuals_from_another_task_or_teacher_are_refused(setup, task_data):
    config, originals, record = setup
    recs = [record(e, "good" if "good" not in e.text.split() else "bad") for e in originals]
    for r in recs:
        r.task, r.teacher_fingerprint, r.teacher_max_length = task_data.task.name, "teacher-A", 128
    assert "counterfactuals_reused" not in build_train_set(config, task_data, Signals(), recs).report
    recs[0].teacher_fingerprint = "teacher-B"
    with pytest.raises(
        DataError, match=r"another task or teacher: teacher_fingerprint teacher-B \(this run: teacher-A\)"
    ) as info:
        build_train_set(config, task_data, Signals(), recs)
    assert "\n" not in str(info.value)
    for r in recs:
        r.task = "cola"
    with pytest.raises(DataError, match="task cola"):
        build_train_set(config, task_data, Signals(), recs)
    reused = build_train_set(config.with_overrides({"reuse_counterfactuals": True}), task_data, Signals(), recs)
    assert reused.report["counterfactuals_reused"] == {"task": ["cola"], "teacher_fingerprint": ["teacher-B"]}


def test_flipped_gold_labels_are_one_minus_gold_without_a_teacher_check(setup, task_data):
    config, originals, record = setup
    flips = [record(e, "good" if "good" not in e.text.split() else "bad") for e in originals[:3]]
    stays = [record(originals[3], originals[3].text + " !")]  # the teacher does not flip: still kept
    gold = config.with_overrides({"counterfactual_labels": "flipped_gold"})
    train = build_train_set(gold, task_data, WordTeacher(), flips + stays)
    cfs = [item for item in train.items if item.is_counterfactual]
    assert len(cfs) == 4 and train.report["dropped"]["not_flipped"] == 0 and train.report["cf_not_flipped"] == 1
    label_of = {e.id: e.label for e in originals}
    assert [item.label for item in cfs] == [1 - label_of[item.source_id] for item in cfs]
    teacher = WordTeacher().predictions([item.text for item in cfs])
    assert (
        train.report["cf_labels_teacher_disagrees"]
        == sum(int(a != b) for a, b in zip(teacher, [i.label for i in cfs]))
        >= 1
    )
    # the default labels the same records by the teacher and drops the non-flip
    default = build_train_set(config, task_data, WordTeacher(), flips + stays)
    assert [i.label for i in default.items if i.is_counterfactual] == list(
        WordTeacher().predictions([r.counterfactual_text for r in flips])
    )


def test_flipped_gold_needs_a_binary_task(setup, task_data):
    import dataclasses

    from codistill.errors import ConfigError

    config, originals, record = setup
    # the data layer loads binary tasks only; the guard protects API users who build TaskData themselves
    three = dataclasses.replace(task_data, task=dataclasses.replace(task_data.task, label_names=("a", "b", "c")))
    with pytest.raises(ConfigError, match="needs a binary task") as info:
        build_train_set(
            config.with_overrides({"counterfactual_labels": "flipped_gold"}),
            three,
            WordTeacher(),
            [record(originals[0], "good")],
        )
    assert "\n" not in str(info.value)
