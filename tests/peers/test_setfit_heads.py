"""SetFit heads as linear logit layers: softmax(logits) is the head's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("setfit")

from codistill.errors import AssetError
from codistill.models.setfit_model import head_weights


def features(n: int = 30, dim: int = 5, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return rng.normal(size=(n, dim)) + y[:, None], y


@pytest.mark.parametrize("classes", [2, 3])
def test_logistic_regression_head_matches_predict_proba(classes):
    from sklearn.linear_model import LogisticRegression

    x, y = features(classes=classes)
    head = LogisticRegression().fit(x, y)
    weight, bias = head_weights(head, classes, x.shape[1])
    logits = torch.as_tensor(x, dtype=torch.float32) @ weight.T + bias
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), head.predict_proba(x), atol=1e-5)


def test_differentiable_head_keeps_its_logits_and_temperature():
    from setfit.modeling import SetFitHead

    x, _ = features()
    head = SetFitHead(in_features=5, out_features=3, temperature=2.0)
    weight, bias = head_weights(head, 3, 5)
    xt = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        _, probs = head(xt)
    np.testing.assert_allclose(torch.softmax(xt @ weight.T + bias, -1).numpy(), probs.numpy(), atol=1e-5)


def test_a_head_missing_a_class_is_refused():
    from sklearn.linear_model import LogisticRegression

    x, y = features(classes=3)
    head = LogisticRegression().fit(x[y < 2], y[y < 2])
    with pytest.raises(AssetError, match="classes"):
        head_weights(head, 3, 5)
