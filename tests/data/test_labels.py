import pytest

from codistill.data.schema import LabelResolver
from codistill.data.sources import join_text_fields
from codistill.data.tasks import get_task
from codistill.errors import DataError

NAMES = ("negative", "positive")


def test_resolver_accepts_ids_names_and_numeric_strings():
    r = LabelResolver(NAMES)
    assert [r.resolve(v, "x") for v in (0, 1, "0", "1", "Positive", " negative ", 1.0, True)] == [
        0,
        1,
        0,
        1,
        1,
        0,
        1,
        1,
    ]


@pytest.mark.parametrize("raw", [2, "2", "neutral", -1, "1.5"])
def test_resolver_rejects_non_binary_or_unknown(raw):
    with pytest.raises(DataError, match=r"f\.jsonl:3: unknown label"):
        LabelResolver(NAMES).resolve(raw, "f.jsonl:3")


def test_resolver_missing_label():
    with pytest.raises(DataError, match="missing label"):
        LabelResolver(NAMES).resolve(None, "here")


def test_explicit_map_replaces_defaults_and_drop_skips():
    r = LabelResolver(NAMES, {"neg": 0, "pos": 1}, drop=["neutral"])
    assert r.resolve("POS", "x") == 1
    assert r.resolve("neutral", "x") is None
    with pytest.raises(DataError):
        r.resolve(0, "x")  # the explicit map is the whole vocabulary


def test_map_outside_label_range_is_an_error():
    with pytest.raises(DataError, match="outside"):
        LabelResolver(NAMES, {"x": 2})


def test_sentiment140_drops_neutral_and_maps_four_to_positive():
    source = get_task("sentiment140").sources["hub"]
    rows = [{"text": "sad", "sentiment": 0}, {"text": "meh", "sentiment": 2}, {"text": "yay", "sentiment": 4}]
    examples = source.convert(rows, "train", NAMES)
    assert [(e.text, e.label) for e in examples] == [("sad", 0), ("yay", 1)]
    assert [e.id for e in examples] == ["train-0", "train-2"]  # ids keep the source row
    with pytest.raises(DataError, match="unknown label 1"):
        source.convert([{"text": "x", "sentiment": 1}], "train", NAMES)


def test_yelp_polarity_is_direct_and_full_stars_maps_stars():
    task = get_task("yelp_polarity")
    assert [
        e.label for e in task.sources["hub"].convert([{"text": "a", "label": 0}, {"text": "b", "label": 1}], "t", NAMES)
    ] == [0, 1]
    stars = [{"text": str(s), "label": s} for s in range(5)]  # yelp_review_full: label = stars - 1
    converted = task.sources["full_stars"].convert(stars, "t", NAMES)
    assert [(e.text, e.label) for e in converted] == [("0", 0), ("1", 0), ("3", 1), ("4", 1)]


def test_glue_tasks_read_sentence_column_and_use_validation_as_test():
    for name in ("sst2", "cola"):
        source = get_task(name).sources["hub"]
        assert source.text_columns == ("sentence",)
        assert source.test_split == "validation"
    assert get_task("cola").primary_metric == "mcc"
    assert "accuracy" in get_task("cola").metrics


def test_amazon_joins_title_and_content():
    source = get_task("amazon_polarity").sources["hub"]
    (ex,) = source.convert([{"title": "Great buy", "content": "Works well.", "label": 1}], "train", NAMES)
    assert ex.text == "Great buy. Works well."
    assert join_text_fields(["Wow!", "ok"]) == "Wow! ok"
    assert join_text_fields(["", "only body"]) == "only body"


def test_unknown_task_lists_known():
    with pytest.raises(DataError, match="known tasks: .*sst2"):
        get_task("sst3")
