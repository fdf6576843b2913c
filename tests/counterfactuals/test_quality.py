"""The steps of the counterfactual quality report."""

from __future__ import annotations

import pytest

from codistill.counterfactuals.quality import Perplexities, fluency_summary, perplexities, teacher_shift
from codistill.counterfactuals.record import CounterfactualRecord


def _record(p0: list[float] | None, p1: list[float] | None, label: int = 1) -> CounterfactualRecord:
    return CounterfactualRecord("e0", "it is bad", label, "it is good", None, 0, p0, p1)


def test_teacher_shift_is_the_margin_lost_to_the_reached_class():
    shift = teacher_shift([_record([0.9, 0.1], [0.3, 0.7]), _record(None, [0.2, 0.8])])
    assert shift["mean_prob_new_label"] == pytest.approx(0.75)
    # only the record with both probability vectors has a margin: (0.9-0.1) - (0.3-0.7)
    assert shift["mean_margin_shift"] == pytest.approx(1.2)
    assert shift["near_boundary_share_p_lt_0.75"] == 0.5
    assert teacher_shift([]) == {
        "mean_prob_new_label": None,
        "mean_margin_shift": None,
        "near_boundary_share_p_lt_0.75": None,
    }


def test_perplexities_use_a_causal_lm_or_an_ngram_model():
    class NGram:
        def perplexity(self, text: str) -> float:
            return float(len(text))

    class Causal:
        name = "tiny-lm"

        def perplexities(self, texts: list[str]) -> list[float]:
            return [2.0 * len(t) for t in texts]

    records = [_record([0.9, 0.1], [0.3, 0.7])]
    assert perplexities(NGram(), records) == Perplexities("ngram(pool)", [10.0], [9.0])
    assert perplexities(Causal(), records) == Perplexities("tiny-lm", [20.0], [18.0])
    summary = fluency_summary(Perplexities("s", [10.0, 20.0], [5.0, 30.0]))
    assert summary["median_ratio"] == pytest.approx(1.0)  # median of 0.5 and 1.5
    assert summary["perplexity_counterfactual"] == 17.5
