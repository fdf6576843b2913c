"""Explainability metrics on scripted teachers and students (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from codistill.explanations.evaluate import counterfactual_metrics, rationale_metrics

NAMES = ["negative", "positive"]


def keyword_probs(texts):
    """Positive iff the text says "good" (a stand-in for the task teacher)."""
    return np.array([[0.1, 0.9] if "good" in t else [0.9, 0.1] for t in texts])


def test_counterfactual_validity_and_self_consistency_are_judged_separately():
    texts = ["a bad film", "a bad plot", "a good film", "a good plot"]
    written = [
        '"a bad film" -> "a good film" would be positive',  # flips the teacher and the student
        '"bad" -> "fine" would be positive',  # parses, flips the student only
        "it would be negative",  # does not parse
        '"good plot" -> "dull plot" would be negative',  # flips both
    ]
    teacher_labels, student_labels = [0, 0, 1, 1], [0, 0, 1, 1]

    def student(texts):  # the student also takes "fine" for positive
        return np.array([1 if "good" in t or "fine" in t else 0 for t in texts])

    m, full = counterfactual_metrics(texts, written, keyword_probs, student, teacher_labels, student_labels)
    assert full == ["a good film", "a fine plot", None, "a dull plot"]
    assert m == {"cf_parse_rate": 0.75, "cf_validity": 0.5, "cf_self_consistency": 0.75}


def test_simulatability_reads_the_evidence_without_the_label_word():
    written = ['negative: "good"', 'positive: "good"', "positive:", 'negative: "awful"']
    refs = ['positive: "good"', 'positive: "good"', None, 'negative: "awful", "dull"']
    m = rationale_metrics(written, refs, keyword_probs, [0, 1, 1, 0], NAMES)
    # the reader says positive for "good" (so only the second one simulates), negative for "awful";
    # the empty rationale counts as not simulatable
    assert m["simulatability"] == pytest.approx(2 / 4)
    assert m["rationale_f1"] == pytest.approx((1 + 1 + 2 / 3) / 3)
