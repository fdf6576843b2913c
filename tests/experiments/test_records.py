import json
import os
import subprocess
import sys

import pytest

from codistill.errors import DataError
from codistill.experiments import ResultStore, RunKey, RunRecord


def rec(seed, acc=0.5):
    return RunRecord(RunKey("sst2", "kd", seed % 2 == 0, 8, seed), {"accuracy": acc}, {"train": 1.0})


def test_append_load_round_trip(tmp_path):
    store = ResultStore(tmp_path / "results.jsonl")
    for s in range(3):
        store.append(rec(s))
    loaded = store.load()
    assert [r.key.seed for r in loaded] == [0, 1, 2] and loaded[0] == rec(0)
    assert store.done() == {rec(s).key for s in range(3)}
    assert json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])["id"] == "sst2/kd+cod/k8/s0"


def test_partial_last_line_from_a_kill_is_ignored_and_repaired(tmp_path):
    path = tmp_path / "results.jsonl"
    store = ResultStore(path)
    store.append(rec(0))
    with path.open("a") as handle:
        handle.write(json.dumps(rec(1).to_dict())[:40])  # killed mid-write
    assert [r.key.seed for r in store.load()] == [0] and store.skipped_partial_lines == 1
    store.append(rec(1))
    assert [r.key.seed for r in store.load()] == [0, 1] and store.skipped_partial_lines == 0


def test_duplicate_keys_keep_the_first_record(tmp_path):
    store = ResultStore(tmp_path / "r.jsonl")
    store.append(rec(0, 0.5))
    store.append(rec(0, 0.9))
    (only,) = store.load()
    assert only.metrics["accuracy"] == 0.5


def test_corruption_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("{broken\n" + json.dumps(rec(0).to_dict()) + "\n")
    with pytest.raises(DataError, match=r"r\.jsonl:1: corrupt"):
        ResultStore(path).load()


def test_kill_during_a_sweep_loses_and_duplicates_nothing(tmp_path):
    """A child process appends records and is SIGKILLed mid-way; resuming completes the set."""
    path = tmp_path / "r.jsonl"
    script = f"""
import time, sys
sys.path.insert(0, {os.getcwd()!r})
from codistill.experiments import ResultStore, RunKey, RunRecord
store = ResultStore({str(path)!r})
for seed in range(1000):
    if RunKey("t", "kd", False, 8, seed) in store.done():
        continue
    store.append(RunRecord(RunKey("t", "kd", False, 8, seed), {{"accuracy": seed / 1000}}))
    if seed == 30:
        print("ready", flush=True)
        time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait()
    store = ResultStore(path)
    assert len(store.done()) == 31
    for seed in range(40):
        key = RunKey("t", "kd", False, 8, seed)
        if key not in store.done():
            store.append(RunRecord(key, {"accuracy": seed / 1000}))
    seeds = [r.key.seed for r in store.load()]
    assert sorted(seeds) == list(range(40)) and len(path.read_text().splitlines()) == 40


def test_fields_added_later_do_not_change_the_inputs_at_their_default():
    from codistill.experiments.records import run_inputs

    before = {"k": 8, "cod": True, "output_dir": "x"}  # a config from before counterfactual_labels existed
    same = run_inputs({**before, "counterfactual_labels": "teacher"}, "t", "h")
    assert same == run_inputs(before, "t", "h")
    assert run_inputs({**before, "counterfactual_labels": "flipped_gold"}, "t", "h") != same
