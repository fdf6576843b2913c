import json

import pytest

from codistill.data import DataConfig, load_task
from codistill.data.readers import read_rows
from codistill.errors import DataError
from tests.conftest import synthetic_sentiment, write_jsonl


def _dir_with(tmp_path, train_name, train_text, test_rows=None):
    root = tmp_path / "d"
    root.mkdir()
    (root / train_name).write_text(train_text)
    write_jsonl(root / "test.jsonl", test_rows or synthetic_sentiment(20, seed=3))
    return root


def _load(root, **kw):
    return load_task(DataConfig(task="local", data_dir=str(root), **kw))


def test_malformed_jsonl_reports_file_and_line(tmp_path):
    good = json.dumps({"text": "ok", "label": 1})
    root = _dir_with(tmp_path, "train.jsonl", f"{good}\n\n{good}\n{{not json\n")
    with pytest.raises(DataError, match=r"train\.jsonl:4: malformed JSON"):
        _load(root)


def test_non_object_json_line(tmp_path):
    root = _dir_with(tmp_path, "train.jsonl", '["a", 1]\n')
    with pytest.raises(DataError, match=r"train\.jsonl:1: expected a JSON object"):
        _load(root)


def test_missing_column_names_found_columns(tmp_path):
    root = _dir_with(tmp_path, "train.jsonl", json.dumps({"sentence": "hi", "label": 1}) + "\n")
    with pytest.raises(DataError, match=r"train\.jsonl:1: missing column 'text' \(found: sentence, label\)"):
        _load(root)


def test_column_mapping_fixes_it(tmp_path):
    rows = "".join(json.dumps({"sentence": r["text"], "y": r["label"]}) + "\n" for r in synthetic_sentiment(40, 1))
    root = _dir_with(tmp_path, "train.jsonl", rows, [{"sentence": "a", "y": 0}, {"sentence": "b", "y": 1}])
    data = _load(root, text_columns=["sentence"], label_column="y")
    assert len(data.pool) + len(data.validation) == 40


def test_empty_text_reports_line(tmp_path):
    root = _dir_with(tmp_path, "train.csv", "text,label\nfine,1\n   ,0\n")
    with pytest.raises(DataError, match=r"train\.csv:3: empty text"):
        _load(root)


def test_label_outside_the_given_names_in_csv(tmp_path):
    root = _dir_with(tmp_path, "train.csv", "text,label\nfine,1\nmeh,2\n")
    with pytest.raises(DataError, match=r"train\.csv:3: unknown label '2'"):
        _load(root, label_names=["neg", "pos"])


def test_csv_wrong_field_count_and_quoted_newlines(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('text,label\n"multi\nline",1\nbroken,1,extra\n')
    rows = read_rows(path)
    where, row = next(rows)
    assert row == {"text": "multi\nline", "label": "1"} and where.endswith("x.csv:2")
    with pytest.raises(DataError, match=r"x\.csv:4: expected 2 fields"):
        next(rows)


def test_tsv_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = synthetic_sentiment(30, 4)
    tsv = "text\tlabel\n" + "".join(f"{r['text']}\t{r['label']}\n" for r in rows)
    root = _dir_with(tmp_path, "train.tsv", tsv)
    test_rows = [{"text": f"{r['text']} {i}", "label": r["label"]} for i, r in enumerate(rows)]
    pq.write_table(pa.Table.from_pylist(test_rows), root / "test.parquet")
    (root / "test.jsonl").unlink()
    data = _load(root)
    assert len(data.test) == 30 and data.test[0].text == test_rows[0]["text"]
    assert len(data.pool) + len(data.validation) == len({r["text"] for r in rows})


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable parquet"):
        list(read_rows(path))


def test_directory_problems(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        _load(tmp_path / "nope")
    (tmp_path / "train.jsonl").write_text("")
    with pytest.raises(DataError, match="no test file"):
        _load(tmp_path)
    (tmp_path / "test.jsonl").write_text("")
    (tmp_path / "test.csv").write_text("")
    with pytest.raises(DataError, match="several files for split 'test'"):
        _load(tmp_path)


def test_empty_file_is_an_error(tmp_path):
    root = _dir_with(tmp_path, "train.jsonl", "\n")
    with pytest.raises(DataError, match="no examples"):
        _load(root)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("")
    with pytest.raises(DataError, match="unsupported file type"):
        read_rows(path)
