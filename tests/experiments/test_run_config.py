"""A sweep run's inputs: a stored record is reused only when it was made with the same ones."""

import pytest

from codistill.errors import ConfigError
from codistill.experiments.records import ResultStore, RunKey, RunRecord
from codistill.experiments.run_config import Job, check_record, file_sha256

KEY = RunKey("sst2", "kd", True, 8, 0)


def _job(**inputs) -> Job:
    return Job(KEY, {}, inputs={"distill": {"k": 8, "lr": 1e-4}, "counterfactuals_sha256": "a", **inputs})


def _record(job: Job) -> RunRecord:
    return RunRecord(KEY, {"accuracy": 0.5}, fingerprint=job.fingerprint, inputs=job.inputs)


def test_a_record_with_the_same_inputs_is_reused(tmp_path):
    job = _job()
    assert check_record(ResultStore(tmp_path / "r.jsonl"), job, _record(job))


def test_a_record_made_with_other_inputs_is_a_one_line_error_naming_them(tmp_path):
    old = _record(_job(distill={"k": 8, "lr": 1e-3}))
    with pytest.raises(ConfigError, match=r"distill\.lr differ"):
        check_record(ResultStore(tmp_path / "r.jsonl"), _job(), old)


def test_ignored_inputs_are_not_compared_yet(tmp_path):
    old = _record(_job(counterfactuals_sha256="b"))
    store = ResultStore(tmp_path / "r.jsonl")
    assert check_record(store, _job(), old, ignore=("counterfactuals_sha256",))
    with pytest.raises(ConfigError, match="counterfactuals_sha256"):
        check_record(store, _job(), old)


def test_file_sha256(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert file_sha256(str(tmp_path / "f")).startswith("ba7816bf") and file_sha256(None) is None
