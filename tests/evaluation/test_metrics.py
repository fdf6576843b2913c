import math

import numpy as np
import pytest

from codistill.evaluation import accuracy, confusion_matrix, label_metrics, macro_f1, mcc


def test_closed_form_binary():
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    p = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    tp, fn, tn, fp = 3, 1, 4, 2
    assert confusion_matrix(y, p).tolist() == [[tn, fp], [fn, tp]]
    assert accuracy(y, p) == pytest.approx(0.7)
    f1_pos = 2 * tp / (2 * tp + fp + fn)
    f1_neg = 2 * tn / (2 * tn + fn + fp)
    assert macro_f1(y, p) == pytest.approx((f1_pos + f1_neg) / 2)
    expected = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc(y, p) == pytest.approx(expected)


def test_degenerate_cases():
    assert mcc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.0  # constant prediction
    assert mcc([0, 1, 1, 0], [0, 1, 1, 0]) == pytest.approx(1.0)
    assert mcc([0, 1, 1, 0], [1, 0, 0, 1]) == pytest.approx(-1.0)
    assert macro_f1([1, 1], [1, 1]) == pytest.approx(0.5)  # absent class scores 0, as in scikit-learn


def test_label_metrics_and_errors():
    y = np.array([0, 1, 1])
    assert label_metrics(y, y, ("accuracy", "mcc")) == {"accuracy": 1.0, "mcc": 1.0}
    with pytest.raises(ValueError, match="unknown metric"):
        label_metrics(y, y, ("auc",))
    with pytest.raises(ValueError, match="shape"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
