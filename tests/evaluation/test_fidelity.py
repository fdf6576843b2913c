import numpy as np
import pytest

from codistill.evaluation import (
    agreement,
    expected_calibration_error,
    fidelity_metrics,
    flip_consistency,
    kl_divergence,
)


def test_agreement():
    assert agreement([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    with pytest.raises(ValueError):
        agreement([0], [0, 1])


def test_kl_identical_is_zero_and_matches_closed_form():
    x = np.random.default_rng(0).normal(size=(6, 2))
    assert kl_divergence(x, x) == pytest.approx(0.0, abs=1e-12)
    t, s = np.array([[0.0, np.log(3)]]), np.array([[0.0, 0.0]])  # p = (1/4, 3/4), q = (1/2, 1/2)
    expected = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert kl_divergence(t, s) == pytest.approx(expected)


def test_ece_closed_form():
    # two confident-right (p=0.9), two confident-wrong (p=0.9): one bin, |0.5 - 0.9| = 0.4
    logit = np.log(9.0)
    logits = np.array([[logit, 0], [logit, 0], [0, logit], [0, logit]])
    assert expected_calibration_error(logits, [0, 0, 1, 0]) == pytest.approx(0.25 * abs(0.75 - 0.9) * 4)
    assert expected_calibration_error(logits, [0, 0, 0, 0]) == pytest.approx(0.4)
    # perfectly calibrated in its bin
    assert expected_calibration_error(np.array([[0.0, 0.0], [0.0, 0.0]]), [0, 1]) == pytest.approx(0.0)


def test_flip_consistency():
    out = flip_consistency([0, 0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0])
    # teacher flips on 0,1,2; student flips on 0,2; pair 3: neither flips
    assert out["flip_consistency"] == pytest.approx(3 / 4)
    assert out["pair_agreement"] == pytest.approx(2 / 4)
    assert out["teacher_flip_rate"] == 0.75 and out["student_flip_rate"] == 0.5 and out["pairs"] == 4


def test_fidelity_metrics_keys():
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    out = fidelity_metrics(t, t, [0, 1])
    assert out["agreement"] == 1.0 and out["kl_teacher_student"] == pytest.approx(0.0, abs=1e-12)
    assert set(out) == {"agreement", "kl_teacher_student", "ece", "teacher_ece"}
