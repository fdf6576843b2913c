import json

import pytest

from codistill.counterfactuals import CounterfactualRecord, read_counterfactuals, write_counterfactuals
from codistill.errors import DataError


def test_round_trip_and_unknown_fields_kept_in_meta(tmp_path):
    path = tmp_path / "cf.jsonl"
    write_counterfactuals(
        path, [CounterfactualRecord("train-1", "a bad film", 0, original_text="a good film", original_label=1)]
    )
    with path.open("a") as handle:
        handle.write(
            json.dumps(
                {"original_id": "train-2", "counterfactual_text": "fine", "counterfactual_label": "1", "score": 0.3}
            )
            + "\n"
        )
    first, second = read_counterfactuals(path)
    assert first.original_text == "a good film" and first.counterfactual_label == 0
    assert second.counterfactual_label == 1 and second.meta == {"score": 0.3}


@pytest.mark.parametrize(
    "row, message",
    [
        ({"counterfactual_text": "x", "counterfactual_label": 1}, "missing field"),
        ({"original_id": "a", "counterfactual_text": "  ", "counterfactual_label": 1}, "empty counterfactual_text"),
        ({"original_id": "a", "counterfactual_text": "x", "counterfactual_label": "pos"}, "integer label id"),
    ],
)
def test_bad_records_name_the_line(tmp_path, row, message):
    path = tmp_path / "cf.jsonl"
    path.write_text(
        json.dumps({"original_id": "ok", "counterfactual_text": "x", "counterfactual_label": 0})
        + "\n"
        + json.dumps(row)
        + "\n"
    )
    with pytest.raises(DataError, match=rf"cf\.jsonl:2: .*{message}"):
        read_counterfactuals(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_counterfactuals(tmp_path / "none.jsonl")
