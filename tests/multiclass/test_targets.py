"""Counterfactual targets for more than two classes, with a scripted keyword teacher (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.generators.base import Request, choose_many
from codistill.counterfactuals.generators.class_words import ClassWords
from codistill.counterfactuals.prompts import build_messages, template_for
from codistill.counterfactuals.targets import named_target, targets_for
from codistill.data import Example
from codistill.data.tasks import get_task
from codistill.errors import ConfigError
from codistill.evaluation.metrics import class_report, label_metrics


def test_runner_up_is_the_default_target():
    req = Request(Example("a", "x", 0), 2, [0.1, 0.3, 0.5, 0.1])
    assert req.targets == (1,) and req.target_label == 1
    assert req.reached(1) and not req.reached(0) and not req.reached(2)
    assert Request(Example("b", "y", 0), 1, [0.2, 0.8]).targets == (0,)  # two classes: the other one


def test_target_modes():
    p = [0.05, 0.2, 0.6, 0.15]
    assert targets_for(p, "runner_up") == (1,)
    assert targets_for(p, "runner_up", per_original=3) == (1, 3, 0)  # multi: the m most likely other classes
    assert targets_for(p, "every_other") == (1, 3, 0)
    assert targets_for(p, "named", named=3) == (3,)
    assert targets_for(p, "named", named=2) == ()  # already the teacher's class: nothing to reach
    names = ("ABBR", "ENTY", "DESC", "HUM")
    assert named_target(names, "hum") == 3
    with pytest.raises(ConfigError, match="not a label"):
        named_target(names, "LOC")


def test_named_target_needs_a_class():
    with pytest.raises(ValueError, match="target_class"):
        CounterfactualConfig(target="named")
    assert CounterfactualConfig(target="named", target_class="HUM").target_class == "HUM"


def test_multi_spreads_over_targets():
    original = "what city is the capital"
    verdicts = [
        ("what person is the capital", [0.1, 0.8, 0.1], 1),
        ("who city is the capital", [0.1, 0.7, 0.2], 1),
        ("what number is the capital", [0.1, 0.2, 0.7], 2),
        ("how city is the capital", [0.2, 0.6, 0.2], 1),
    ]
    picked = choose_many(original, verdicts, "smallest", 2)
    assert sorted(c.label for c in picked) == [1, 2]  # one per class reached before a second of the same class
    assert len(choose_many(original, verdicts, "smallest", 1)) == 1


def test_mined_class_words():
    texts = ["who wrote the book"] * 5 + ["where is the river"] * 5 + ["how many legs do spiders have"] * 5
    labels = [0] * 5 + [1] * 5 + [2] * 5
    cw = ClassWords(texts, labels, 3)
    assert "who" in {w for w, _ in cw.top(0, 3)} and "where" in {w for w, _ in cw.top(1, 3)}
    assert cw.score("the", 0) < cw.score("who", 0)  # also frequent in another class: less tied to this one
    assert cw.score("who", 0) > 0 > cw.score("who", 1)


def test_prompts_name_the_labels_and_the_target():
    task = get_task("trec")
    messages = build_messages(template_for(task), task, "Who wrote Hamlet ?", 3, [], target=4)
    text = " ".join(m["content"] for m in messages)
    assert "from HUM to LOC" in text and "ABBR, ENTY, DESC, HUM, LOC, NUM" in text
    with pytest.raises(ValueError, match="target class"):
        build_messages(template_for(task), task, "Who wrote Hamlet ?", 3, [])


def test_per_class_metrics():
    gold, pred = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    rep = class_report(gold, pred, 3)
    assert rep["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert rep["per_class_recall"] == [0.5, 1.0, 0.5]
    f1 = label_metrics(gold, pred, ("macro_f1",))["macro_f1"]  # three classes inferred, no error
    assert f1 == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))
    assert class_report([0, 0], [0, 0], 3)["per_class_recall"] == [1.0, None, None]
