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
                out.append(
                    RunRecord(
                        RunKey("rt", m, False, k, s), {"accuracy": 0.7 + shift + seed_effect + rng.normal(0, noise)}
                    )
                )
    return out


def test_a_real_method_effect_is_found_and_seed_blocks_absorb_budget_noise():
    effects = {e.term: e for e in method_anova(records(0.05), "accuracy", "rt")}
    assert effects["C(method)"].p < 1e-4 and effects["C(method)"].partial_eta_sq > 0.8
    assert effects["C(seed)"].p < 0.05  # the seed (budget) effect is modelled, not left in the residual
    pairs = {(c.a, c.b): c for c in posthoc(records(0.05), "accuracy", "rt")}
    c = pairs[("explain-both", "explain-task")]
    assert (
        c.mean_diff == pytest.approx(0.05, abs=0.02)
        and c.holm_pvalue < 0.01
        and c.holm_pvalue >= c.t_pvalue
        and c.cohens_dz > 2
    )


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
    assert "No ANOVA" in statistics_markdown(constant, ["accuracy"]) and "explain-both" in statistics_markdown(
        constant, ["accuracy"]
    )


def test_the_html_report_of_explanation_students_renders_the_statistics(tmp_path):
    """`codistill report` on an explanation-distillation results file: the HTML page has the
    method table, the ANOVA, the mixed model and the post-hoc comparisons, not only the Markdown."""
    import re

    from codistill.experiments import ResultStore
    from codistill.experiments.report import write_report

    store = ResultStore(tmp_path / "students.jsonl")
    for r in records(0.05, ks=(64, 256), seeds=range(3)):
        r.metrics["cf_validity"] = 0.5 + 0.1 * r.key.seed if r.key.recipe != "explain-task" else float("nan")
        store.append(r)
    page = write_report(store.path, tmp_path / "rep", title="explanation students").html.read_text()
    stats = page[page.index("<h2>Statistics") :]
    assert "<h3>rt: accuracy</h3>" in stats and "<h3>rt: cf_validity</h3>" in stats
    anova = re.search(r"<table class='stats anova'>.*?</table>", stats).group(0)
    assert "Two-way ANOVA" in anova and all(f"<td class='l'>C({t})</td>" in anova for t in ("method", "seed", "k"))
    assert "<table class='stats mixed'>" in stats
    posthoc = re.search(r"<table class='stats posthoc'>.*?</table>", stats).group(0)
    assert posthoc.count("<tr>") == 1 + 3 * 2  # header + the 3 pairs of methods at each of 2 k
    assert (
        "<td class='l'>explain-both</td><td class='l'>explain-task</td><td>64</td><td>3</td>" in posthoc
    )  # 3 seeds matched per k
    assert "No paired baseline/+CoD" not in page  # explanation students have no +CoD tables


def test_posthoc_tests_per_k_over_seeds_and_a_constant_difference_has_no_p_or_dz():
    """Pairs are not pooled over (k, seed) as if independent: one test per k, paired over seeds,
    Holm-corrected over every (pair, k); a constant difference gives p = NaN and d_z = NaN."""
    import math

    recs = records(0.05, ks=(8, 16, 32, 64), seeds=range(3))
    pairs = posthoc(recs, "accuracy", "rt")
    assert sorted({c.k for c in pairs}) == [8, 16, 32, 64] and all(c.n_pairs == 3 for c in pairs)
    assert len(pairs) == 3 * 4 and all(c.holm_pvalue >= c.t_pvalue for c in pairs)
    constant = [RunRecord(r.key, {"accuracy": 0.5 + (0.1 if r.key.recipe == "explain-both" else 0.0)}) for r in recs]
    c = next(c for c in posthoc(constant, "accuracy", "rt") if (c.a, c.b) == ("explain-both", "explain-task"))
    assert (
        c.mean_diff == pytest.approx(0.1)
        and math.isnan(c.t_pvalue)
        and math.isnan(c.holm_pvalue)
        and math.isnan(c.cohens_dz)
    )
