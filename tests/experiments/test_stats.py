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
        r.train_set = {
            "originals": 4 if r.key.cod else 8,
            "counterfactuals": (3 + r.key.seed % 2) if r.key.cod else 0,
            "train_steps": 200,
        }
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
    assert (
        RunRecord.from_dict(
            {"key": {"task": "t", "recipe": "kd", "cod": True, "k": 8, "seed": 0}, "metrics": {}}
        ).key.method
        == "kd+cod"
    )
    cmp = {c.method: c for c in compare_cod(recs, "accuracy")}
    assert set(cmp) == {"kd+cod", "kd+cod-full", "kd+cod-multi3"}
    assert cmp["kd+cod-full"].gain_mean == pytest.approx(0.08, abs=0.02) and cmp["kd+cod-multi3"].gain_mean < 0.0
    md = markdown_table(recs, "accuracy")
    assert "| sst2 | kd → +CoD |" in md and "| sst2 | kd → +CoD-full |" in md and "| sst2 | kd → +CoD-multi3 |" in md


def demo_like_records():
    """3 seeds x k in {8, 16, 32, 64}: a clear gain at 16, a clear loss at 32, noise at 8, a
    constant gain (no test) at 64."""
    noise = (0.0, 0.01, -0.01)
    return (
        records([0.05, -0.06, 0.04], noise=noise, k=8)
        + records([0.06, 0.08, 0.076], noise=noise, k=16)
        + records([-0.04, -0.06, -0.056], noise=noise, k=32)
        + records([0.03, 0.03, 0.03], noise=noise, k=64)
    )


def test_significance_in_plain_words():
    from codistill.experiments.tables import significance_lines, table_rows

    recs = demo_like_records()
    (line,) = significance_lines(recs, "accuracy")
    by_k = {r["k"]: r for r in table_rows(recs, "accuracy")}
    assert line.startswith("accuracy: KD+CoD beats KD significantly at k=16 (+7.2 points, paired t-test p=")
    assert f"p={by_k[16]['t_pvalue']:.2g} over 3 seeds)" in line
    assert (
        f"KD+CoD is significantly WORSE than KD at k=32 (-5.2 points, paired t-test p={by_k[32]['t_pvalue']:.2g} over 3 seeds)"
        in line
    )
    assert f"not significant at k=8 (+1.0, p={by_k[8]['t_pvalue']:.2g})" in line
    assert "; no test possible at k=64 (+3.0 points, the same difference in every seed)." in line
    # the words agree with the table's marks
    md = markdown_table(recs, "accuracy")
    assert "(+7.2*)" in md and "(-5.2†)" in md and "(+1.0)" in md and "(+3.0)" in md


def test_significance_words_follow_the_correction():
    from codistill.experiments.tables import significance_lines

    gains = [0.02, 0.04, 0.005, 0.03, 0.01]  # p ~ 0.03 alone, not after Holm over 3 cells
    recs = [r for k in (8, 16, 32) for r in records(gains, k=k)]
    raw = significance_lines(recs, "accuracy")
    holm_lines = significance_lines(recs, "accuracy", correction="holm")
    assert "beats KD significantly at k=8" in raw[0] and "over 5 seeds" in raw[0]
    assert holm_lines[0].startswith("accuracy: KD+CoD does not beat KD significantly at any k; not significant at k=8")
    assert holm_lines[-1] == "(p-values Holm-adjusted across this table's 3 cells; significant means p < 0.05.)"
    # several tasks and CoD methods: one line each, named
    more = (
        recs
        + records([0.05] * 5, task="cola")
        + [
            RunRecord(RunKey("cola", "kd", True, 8, s, "full"), {"accuracy": 0.70 + n + 0.04 + 0.01 * s})
            for s, n in enumerate((0.0, 0.01, -0.01, 0.02, -0.02))
        ]
    )
    lines = significance_lines(more, "accuracy")
    assert [line.split(":")[0] for line in lines] == ["cola, accuracy", "cola, accuracy", "sst2, accuracy"]
    assert lines[1].startswith("cola, accuracy: KD+CoD-full beats KD significantly at k=8")


def test_demo_prints_the_verdicts(capsys, tmp_path):
    from types import SimpleNamespace

    from codistill.cli.sweep import _finish
    from codistill.experiments.records import ResultStore

    recs = demo_like_records()
    store = ResultStore(tmp_path / "results.jsonl")
    for r in recs:
        store.append(r)
    result = SimpleNamespace(
        records=recs,
        results_path=tmp_path / "results.jsonl",
        counterfactual_files={},
        ran=len(recs),
        skipped=0,
        seconds=60.0,
    )
    _finish(SimpleNamespace(output_dir=str(tmp_path), peers=[]), result)  # the default: Holm
    out = capsys.readouterr().out
    assert "accuracy: KD+CoD beats KD significantly at k=16" in out
    assert "significantly WORSE than KD at k=32" in out
    assert "Holm-adjusted across this table's 4 cells" in out


def test_reports_and_the_sweep_console_correct_for_multiplicity_by_default(tmp_path, capsys):
    """A gain significant alone but not after Holm over the row's k gets no `*` anywhere a user
    reads it unless they ask for per-cell p-values."""
    import inspect
    from types import SimpleNamespace

    from codistill.cli.report import report as report_cmd
    from codistill.cli.sweep import _finish
    from codistill.experiments.records import ResultStore
    from codistill.experiments.report import write_report
    from codistill.experiments.stats import DEFAULT_CORRECTION

    gains = [0.02, 0.04, 0.005, 0.03, 0.01]  # p ~ 0.03 alone, not after Holm over 3 cells
    recs = [r for k in (8, 16, 32) for r in records(gains, k=k)]
    store = ResultStore(tmp_path / "results.jsonl")
    for r in recs:
        store.append(r)
    assert DEFAULT_CORRECTION == "holm"
    assert inspect.signature(report_cmd).parameters["correction"].default == DEFAULT_CORRECTION
    files = write_report(tmp_path / "results.jsonl", tmp_path / "report")
    table = files.markdown.read_text().split("## accuracy", 1)[1].split("\n## ", 1)[0]
    assert "Holm-adjusted" in table and "*)" not in table
    result = SimpleNamespace(
        records=recs, results_path=tmp_path / "results.jsonl", counterfactual_files={}, ran=15, skipped=0, seconds=1.0
    )
    _finish(SimpleNamespace(output_dir=str(tmp_path), peers=[]), result)
    out = capsys.readouterr().out
    assert "does not beat KD significantly at any k" in out
    per_cell = write_report(tmp_path / "results.jsonl", tmp_path / "raw", correction="none")
    raw_table = per_cell.markdown.read_text().split("## accuracy", 1)[1].split("\n## ", 1)[0]
    assert "*)" in raw_table and "Holm" not in raw_table  # per-cell p-values when asked for
