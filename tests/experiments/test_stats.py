import math

import numpy as np
import pytest

from codistill.experiments import RunKey, RunRecord, compare_cod, summarise
from codistill.experiments.stats import bootstrap_ci, paired_tests
from codistill.experiments.tables import csv_table, markdown_table


def records(gains, base=0.70, noise=(0.0, 0.01, -0.01, 0.02, -0.02), k=8, task="sst2"):
    out = []
    for seed, (g, n) in enumerate(zip(gains, noise)):
        out.append(RunRecord(RunKey(task, "kd", False, k, seed), {"accuracy": base + n}))
        out.append(RunRecord(RunKey(task, "kd", True, k, seed), {"accuracy": base + n + g}))
    return out


def test_summary_mean_and_sample_std():
    (base, cod) = summarise(records([0.05] * 5), "accuracy")
    assert base.method == "kd" and cod.method == "kd+cod" and base.n == 5
    vals = np.array([0.70, 0.71, 0.69, 0.72, 0.68])
    assert base.mean == pytest.approx(vals.mean()) and base.std == pytest.approx(vals.std(ddof=1))
    assert cod.mean == pytest.approx(vals.mean() + 0.05)
    assert base.ci_low <= base.mean <= base.ci_high


def test_known_paired_answer_matches_closed_form():
    gains = np.array([0.04, 0.06, 0.05, 0.07, 0.03])
    (cmp,) = compare_cod(records(gains), "accuracy")
    d = gains
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    from scipy import stats

    assert cmp.gain_mean == pytest.approx(d.mean())
    assert cmp.t_pvalue == pytest.approx(2 * stats.t.sf(abs(t), df=len(d) - 1))
    assert cmp.wilcoxon_pvalue == pytest.approx(0.0625)  # all 5 positive: the exact floor 2/2**5
    assert cmp.significant
    assert cmp.ci_low <= d.mean() <= cmp.ci_high and cmp.ci_low > 0


def test_noisy_gain_is_not_significant():
    (cmp,) = compare_cod(records([0.05, -0.06, 0.04, -0.05, 0.01]), "accuracy")
    assert not cmp.significant and cmp.t_pvalue > 0.5


def test_pairs_only_on_shared_seeds():
    recs = records([0.05] * 5)
    recs = [r for r in recs if not (r.key.cod and r.key.seed == 4)]
    (cmp,) = compare_cod(recs, "accuracy")
    assert cmp.n_pairs == 4


def test_degenerate_tests():
    assert all(math.isnan(p) for p in paired_tests(np.array([0.5, 0.6]), np.array([0.5, 0.6])))
    t_p, _ = paired_tests(np.array([0.5, 0.6]), np.array([0.6, 0.7]))
    assert math.isnan(t_p)  # zero-variance differences: t is undefined, not p = 0
    assert all(math.isnan(p) for p in paired_tests(np.array([0.5]), np.array([0.6])))
    assert bootstrap_ci(np.array([0.3])) == (0.3, 0.3)
    assert bootstrap_ci(np.array([1.0, 2.0, 3.0]), seed=1) == bootstrap_ci(np.array([1.0, 2.0, 3.0]), seed=1)


def test_tables():
    recs = records([0.04, 0.06, 0.05, 0.07, 0.03]) + records([0.01, -0.01, 0.0, 0.02, -0.02], k=16)
    md = markdown_table(recs, "accuracy")
    assert "| task | method (accuracy) | k=8 | k=16 |" in md
    assert "70.0±1.6 → 75.0±3.1 (+5.0*)" in md
    assert "(+0.0)" in md  # the k=16 cell: no gain, no star
    csv_text = csv_table(recs, "accuracy")
    assert csv_text.splitlines()[0].startswith("task,recipe,k,metric") and len(csv_text.splitlines()) == 3
    assert "no paired" in markdown_table([], "accuracy")


def test_constant_gain_is_not_starred():
    (cmp,) = compare_cod(records([0.05] * 5, noise=(0.0,) * 5), "accuracy")
    assert math.isnan(cmp.t_pvalue) and not cmp.significant and not cmp.significant_loss
    md = markdown_table(records([0.05] * 5, noise=(0.0,) * 5), "accuracy")
    assert "(+5.0)" in md and "*)" not in md


def test_significant_loss_is_marked_in_its_own_style():
    from codistill.experiments.html import results_table

    recs = records([-0.04, -0.06, -0.05, -0.07, -0.03])
    (cmp,) = compare_cod(recs, "accuracy")
    assert cmp.significant_loss and not cmp.significant
    assert "(-5.0†)" in markdown_table(recs, "accuracy")
    assert "class='loss'" in results_table(recs, "accuracy")


def test_table_means_use_the_paired_seeds_only():
    recs = records([0.05] * 5)
    recs.append(RunRecord(RunKey("sst2", "kd", False, 8, 9), {"accuracy": 0.10}))  # baseline seed without a CoD twin
    (row,) = __import__("codistill.experiments.tables", fromlist=["table_rows"]).table_rows(recs, "accuracy")
    assert row["baseline_mean"] == pytest.approx(0.70) and row["n_pairs"] == 5


def test_holm_correction_across_cells():
    from codistill.experiments.stats import holm
    from codistill.experiments.tables import table_rows

    assert holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)
    gains = [0.02, 0.04, 0.005, 0.03, 0.01]  # significant alone (p ~ 0.03) ...
    recs = [r for k in (8, 16, 32, 64, 128) for r in records(gains, k=k)]
    raw = table_rows(recs, "accuracy")
    adjusted = table_rows(recs, "accuracy", correction="holm")
    assert all(r["significant"] for r in raw)
    assert all(a["pvalue"] == pytest.approx(min(1, 5 * r["t_pvalue"])) for a, r in zip(adjusted, raw))
    assert not any(r["significant"] for r in adjusted)  # ... but not after Holm over 5 cells
    assert "Holm-adjusted" in markdown_table(recs, "accuracy", correction="holm")
    assert "Holm" not in markdown_table(recs, "accuracy")


def test_tables_and_html_show_the_cod_row_count():
    from codistill.experiments.html import results_table

    recs = records([0.04, 0.06, 0.05, 0.07, 0.03])
    for r in recs:
        r.train_set = {"originals": 4 if r.key.cod else 8, "counterfactuals": (3 + r.key.seed % 2) if r.key.cod else 0, "train_steps": 200}
    assert "(+5.0*) [4+3.4 rows]" in markdown_table(recs, "accuracy")
    assert "CoD: 4+3.4 rows" in results_table(recs, "accuracy")
    assert "cod_counterfactuals" in csv_table(recs, "accuracy").splitlines()[0]


def test_budget_modes_are_methods_compared_to_the_baseline():
    from codistill.experiments.records import RunRecord as R

    recs = records([0.05] * 5)
    for seed in range(5):
        recs.append(R(RunKey("sst2", "kd", True, 8, seed, "full"), {"accuracy": 0.70 + 0.08}))
        recs.append(R(RunKey("sst2", "kd", True, 8, seed, "multi3"), {"accuracy": 0.69}))
    assert RunKey("sst2", "kd", True, 8, 0, "full").as_id() == "sst2/kd+cod-full/k8/s0"
    assert RunRecord.from_dict({"key": {"task": "t", "recipe": "kd", "cod": True, "k": 8, "seed": 0}, "metrics": {}}).key.method == "kd+cod"
    cmp = {c.method: c for c in compare_cod(recs, "accuracy")}
    assert set(cmp) == {"kd+cod", "kd+cod-full", "kd+cod-multi3"}
    assert cmp["kd+cod-full"].gain_mean == pytest.approx(0.08, abs=0.02) and cmp["kd+cod-multi3"].gain_mean < 0.0
    md = markdown_table(recs, "accuracy")
    assert "| sst2 | kd → +CoD |" in md and "| sst2 | kd → +CoD-full |" in md and "| sst2 | kd → +CoD-multi3 |" in md
