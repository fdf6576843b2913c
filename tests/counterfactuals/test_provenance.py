"""A counterfactual file says which task and which teacher (at which max_length) verified it."""

from helpers import KeywordTeacher

from codistill.counterfactuals.pipeline import run_counterfactuals
from codistill.counterfactuals.record import read_counterfactuals


class ShortTeacher(KeywordTeacher):
    max_length = 48


def test_file_records_task_teacher_and_max_length(base_config):
    result = run_counterfactuals(base_config, verifier=ShortTeacher(), echo=lambda *_: None)
    records = read_counterfactuals(result.output_dir / "counterfactuals.jsonl")
    assert records
    assert {(r.task, r.teacher_fingerprint, r.teacher_max_length) for r in records} == {
        ("sst2", "keyword-teacher-v1", 48)
    }
    assert result.run["teacher_max_length"] == 48
