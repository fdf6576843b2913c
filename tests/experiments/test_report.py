"""The steps of ``write_report``: loading a results file's runs and drawing sample pairs."""

import pytest

from codistill.counterfactuals.record import CounterfactualRecord, write_counterfactuals
from codistill.errors import DataError
from codistill.experiments.records import ResultStore, RunKey, RunRecord
from codistill.experiments.report import load_runs, pick_pairs, report_notes


def test_load_runs_without_records_is_a_one_line_error(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    with pytest.raises(DataError, match="no result records"):
        load_runs(tmp_path / "results.jsonl")


def test_load_runs_counts_partial_lines_and_knows_the_tasks(tmp_path):
    store = ResultStore(tmp_path / "results.jsonl")
    store.append(RunRecord(RunKey("trec", "kd", False, 8, 0), {"accuracy": 0.5}))
    store.append(RunRecord(RunKey("sst2", "kd", True, 8, 0), {"agreement": 0.7}))
    with open(store.path, "a") as f:
        f.write('{"id": "cut')
    runs = load_runs(store.path)
    assert runs.tasks == ["sst2", "trec"] and runs.present == {"accuracy", "agreement"} and runs.has_cod
    assert runs.secondary == [] and runs.skipped_partial_lines == 1
    assert any("1 partial record" in n for n in report_notes(runs))


def test_pick_pairs_is_seeded_and_capped(tmp_path):
    records = [CounterfactualRecord(f"e{i}", f"bad {i}", 0, f"good {i}") for i in range(10)]
    path = write_counterfactuals(tmp_path / "cf.jsonl", records)
    first = pick_pairs([path], 4, seed=1)
    assert len(first) == 4 and first == pick_pairs([path], 4, seed=1)
    assert len(pick_pairs([path], 50, seed=1)) == 10
    assert pick_pairs([], 4, seed=1) == []
