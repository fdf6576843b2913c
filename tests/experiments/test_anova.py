"""Methods x seeds (x k) statistics with statsmodels."""

from __future__ import annotations

import numpy as np
import pytest

from codistill.experiments.anova import method_anova, method_mixedlm, posthoc, statistics_markdown
from codistill.experiments.records import RunKey, RunRecord

pytest.importorskip("statsmodels")


def records(gap: float, ks=(64,), seeds=range(5), noise: float = 0.01):
    rng = np.random.default_rng(0)
    out = []
    for k in ks:
        for s in seeds:
            seed_effect = rng.normal(0, 0.05)  # shared by every method on that budget
            for m, shift in (("explain-task", 0.0), ("explain-both", gap), ("explain-counterfactual", gap / 2)):
                out.append(RunRecord(RunKey("rt", m, False, k, s), {"accuracy": 0.7 + shift + seed_effect + rng.normal(0, noise)}))
    return out


def test_a_real_method_effect_is_found_and_seed_blocks_absorb_budget_noise():
    effects = {e.term: e for e in method_anova(records(0.05), "accuracy", "rt")}
    assert effects["C(method)"].p < 1e-4 and effects["C(method)"].partial_eta_sq > 0.8
    assert effects["C(seed)"].p < 0.05  # the seed (budget) effect is modelled, not left in the residual
    pairs = {(c.a, c.b): c for c in posthoc(records(0.05), "accuracy", "rt")}
    c = pairs[("explain-both", "explain-task")]
    assert c.mean_diff == pytest.approx(0.05, abs=0.02) and c.holm_pvalue < 0.01 and c.holm_pvalue >= c.t_pvalue and c.cohens_dz > 2


def test_no_effect_is_not_significant():
    effects = {e.term: e for e in method_anova(records(0.0), "accuracy", "rt")}
    assert effects["C(method)"].p > 0.05


def test_k_adds_main_and_interaction_terms_and_the_mixed_model():
    recs = records(0.05, ks=(64, 256), seeds=range(3))
    terms = {e.term for e in method_anova(recs, "accuracy", "rt")}
    assert {"C(method)", "C(seed)", "C(k)", "C(method):C(k)"} <= terms
    fixed = method_mixedlm(recs, "accuracy", "rt")
    assert fixed and any("explain-task" in t for t in fixed)


def test_too_few_seeds_or_methods_give_no_test():
    assert method_anova(records(0.05, seeds=[0]), "accuracy", "rt") is None
    one_method = [r for r in records(0.05) if r.key.recipe == "explain-task"]
    assert method_anova(one_method, "accuracy", "rt") is None and posthoc(one_method, "accuracy", "rt") == []
    md = statistics_markdown(records(0.05), ["accuracy", "missing_metric"])
    assert "Two-way ANOVA" in md and "Post-hoc" in md and "missing_metric" not in md
    constant = [RunRecord(r.key, {"accuracy": 0.5}) for r in records(0.05)]
    assert method_anova(constant, "accuracy", "rt") is None
    assert "No ANOVA" in statistics_markdown(constant, ["accuracy"]) and "explain-both" in statistics_markdown(constant, ["accuracy"])
