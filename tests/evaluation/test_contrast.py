"""Contrast-set scores on small hand-written pairs, and the file reader's errors."""

import json

import pytest

from codistill.errors import DataError
from codistill.evaluation.contrast import contrast_metrics, flat_record_metrics, read_contrast

NAMES = ("negative", "positive")
PAIRS = [
    {"original": "a gripping film", "counterfactual": "a tedious film", "label": 1, "counterfactual_label": 0},
    {
        "original": "dull and slow",
        "counterfactual": "brisk and sharp",
        "label": "negative",
        "counterfactual_label": "positive",
    },
    {"original": "I loved it", "counterfactual": "I hated it", "label": "1", "counterfactual_label": 0},
    {"original": "not bad at all", "counterfactual": "bad at all", "label": 1, "counterfactual_label": 0},
]


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_reader_accepts_ids_and_names(tmp_path):
    pairs = read_contrast(write(tmp_path / "c.jsonl", PAIRS), NAMES)
    assert [(p.label, p.counterfactual_label) for p in pairs] == [(1, 0), (0, 1), (1, 0), (1, 0)]
    assert pairs[1].counterfactual == "brisk and sharp"


def test_scores_by_hand():
    from codistill.evaluation.contrast import ContrastPair

    pairs = [
        ContrastPair("a", "b", 1, 0),
        ContrastPair("c", "d", 0, 1),
        ContrastPair("e", "f", 1, 0),
        ContrastPair("g", "h", 1, 0),
    ]
    # student: right on originals 1,2,4 (3/4); right on counterfactuals 1,3 (2/4); both right on 1 only
    student_o, student_c = [1, 0, 0, 1], [0, 0, 0, 1]
    teacher_o, teacher_c = [1, 0, 1, 1], [0, 1, 0, 1]
    m = contrast_metrics(pairs, student_o, student_c, teacher_o, teacher_c)
    assert m["accuracy_original"] == 0.75 and m["accuracy_counterfactual"] == 0.5 and m["consistency"] == 0.25
    assert m["teacher"] == {"accuracy_original": 1.0, "accuracy_counterfactual": 0.75, "consistency": 0.75}
    # student vs teacher: originals agree on 1,2,4; counterfactuals agree on 1,3,4; both on 1,4
    assert m["vs_teacher"] == {"accuracy_original": 0.75, "accuracy_counterfactual": 0.75, "consistency": 0.5}
    assert m["pairs"] == 4
    assert flat_record_metrics(m) == {
        "contrast_accuracy_original": 0.75,
        "contrast_accuracy_counterfactual": 0.5,
        "contrast_consistency": 0.25,
    }
    assert flat_record_metrics(None) == {}


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"original": "a", "counterfactual": "b", "label": 1}', "missing counterfactual_label"),
        ('{"original": "a", "counterfactual": "", "label": 1, "counterfactual_label": 0}', "non-empty"),
        ('{"original": "a", "counterfactual": "b", "label": "great", "counterfactual_label": 0}', "neither a label id"),
        ('{"original": "a", "counterfactual": "b", "label": 2, "counterfactual_label": 0}', "neither a label id"),
        ("not json", "malformed JSON"),
        ('["a list"]', "expected a JSON object"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(PAIRS[0]) + "\n" + line + "\n")
    with pytest.raises(DataError, match=f"c.jsonl:2: .*{message}"):
        read_contrast(path, NAMES)


def test_non_utf8_contrast_file_names_the_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes((json.dumps(PAIRS[0]) + "\n").encode() + b'{"original": "caf\xe9"}\n')
    with pytest.raises(DataError, match="c.jsonl:2: not valid UTF-8"):
        read_contrast(path, NAMES)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_contrast(tmp_path / "nope.jsonl", NAMES)
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no pairs"):
        read_contrast(tmp_path / "e.jsonl", NAMES)
