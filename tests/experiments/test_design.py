"""A sweep's pre-set design: seeds added later are a labelled secondary analysis, never the result."""

import json

import pytest

from codistill.experiments.design import DESIGN_FILE, Design, load_design, record_design, split_records
from codistill.experiments.records import ResultStore, RunKey, RunRecord
from codistill.experiments.report import write_report


def _keys(seeds, ks=(8,), task="sst2"):
    return [RunKey(task, "kd", cod, k, s) for s in seeds for k in ks for cod in (False, True)]


def _record(key: RunKey, accuracy: float) -> RunRecord:
    return RunRecord(key=key, metrics={"accuracy": accuracy, "agreement": accuracy}, config={}, timings={})


def test_first_sweep_fixes_the_design_and_later_seeds_are_an_extension(tmp_path):
    lines = []
    first = record_design(tmp_path, _keys([0, 1, 2]), lines.append)
    assert first.primary["seeds"] == [0, 1, 2] and first.extensions == [] and lines == []
    again = record_design(tmp_path, _keys([0, 1, 2]), lines.append)
    assert again.extensions == [] and lines == []  # the same grid again adds nothing
    extended = record_design(tmp_path, _keys([0, 1, 2, 3, 4], ks=(8, 16)), lines.append)
    assert extended.primary["seeds"] == [0, 1, 2] and extended.primary["ks"] == [8]  # never rewritten
    assert extended.extensions[0]["added"] == {"ks": [16], "seeds": [3, 4]}
    assert len(lines) == 1 and "secondary analysis" in lines[0] and "seeds 3, 4" in lines[0]
    stored = load_design(tmp_path)
    assert stored is not None and stored.to_dict() == extended.to_dict()
    # a narrower rerun neither shrinks the design nor adds an extension
    record_design(tmp_path, _keys([0]), lines.append)
    assert load_design(tmp_path).primary["seeds"] == [0, 1, 2] and len(load_design(tmp_path).extensions) == 1


def test_split_keeps_only_the_pre_set_cells_as_primary():
    design = Design({"tasks": ["sst2"], "methods": ["kd", "kd+cod"], "ks": [8], "seeds": [0, 1, 2]}, "t")
    records = [_record(k, 0.5) for k in _keys([0, 1, 2, 3, 4], ks=(8, 16))]
    primary, secondary = split_records(records, design)
    assert {(r.key.seed, r.key.k) for r in primary} == {(s, 8) for s in (0, 1, 2)}
    assert len(secondary) == len(records) - len(primary)
    assert split_records(records, None) == (records, [])  # no recorded design: one analysis


def _write_results(folder, gains):
    store = ResultStore(folder / "results.jsonl")
    for seed, gain in gains.items():
        store.append(_record(RunKey("sst2", "kd", False, 8, seed), 0.60))
        store.append(_record(RunKey("sst2", "kd", True, 8, seed), 0.60 + gain))


def test_report_computes_the_result_over_the_pre_set_seeds_and_labels_the_rest(tmp_path):
    # 3 pre-set seeds with mixed gains (not significant); seeds 3-9 added later, all large gains
    gains = {0: 0.05, 1: -0.03, 2: 0.01} | {s: 0.10 + 0.001 * s for s in range(3, 10)}
    _write_results(tmp_path, gains)
    record_design(tmp_path, _keys([0, 1, 2]), lambda *_: None)
    record_design(tmp_path, _keys(range(10)), lambda *_: None)
    files = write_report(tmp_path / "results.jsonl", tmp_path / "report")
    md = files.markdown.read_text()
    primary_part, secondary_part = md.split("## secondary analysis (added after the design was fixed)", 1)
    assert "pre-set design: tasks sst2" in md and "seeds [0, 1, 2]" in md
    # the headline table pairs 3 seeds (+1.0 point, not significant); the secondary one all 10
    row = next(line for line in primary_part.split("## accuracy", 1)[1].splitlines() if line.startswith("| sst2"))
    assert "(+1.0)" in row  # 3 paired seeds, mean gain 1.0 point, no significance mark
    added = next(line for line in secondary_part.split("### accuracy", 1)[1].splitlines() if line.startswith("| sst2"))
    assert "*" in added  # pooled with the added seeds it would have "passed": only as the labelled secondary
    assert "every run, the 14 added ones included" in secondary_part.lower()
    assert "secondary analysis" in files.html.read_text()


def test_report_on_results_without_a_design_says_so(tmp_path):
    _write_results(tmp_path, {0: 0.05, 1: 0.02, 2: 0.03})
    files = write_report(tmp_path / "results.jsonl", tmp_path / "report")
    assert "the design was not recorded" in files.markdown.read_text()
    assert not (tmp_path / DESIGN_FILE).exists()


def test_a_corrupt_design_file_is_a_clear_error(tmp_path):
    from codistill.errors import DataError

    (tmp_path / DESIGN_FILE).write_text(json.dumps({"primary": {"tasks": []}}))
    with pytest.raises(DataError, match="not a codistill design record"):
        load_design(tmp_path)
