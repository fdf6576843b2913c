from codistill.explanations.render import (
    parse_counterfactual,
    rationale_evidence,
    render_counterfactual,
    render_rationale,
    token_f1,
)


def test_rationale_matches_the_documented_form():
    assert render_rationale("negative", ["dull", "lifeless"]) == 'negative: "dull", "lifeless"'


def test_counterfactual_renders_the_edit_window_and_parses_back():
    original, cf = "a dull film , sadly .", "a vivid film , sadly ."
    rendered = render_counterfactual(original, cf, "positive")
    assert rendered == '"a dull film" -> "a vivid film" would be positive'
    assert parse_counterfactual(rendered, original) == (cf, "positive")


def test_counterfactual_insertion_and_deletion_round_trip():
    for original, cf in (("it is boring .", "it is not boring ."), ("it is n't boring .", "it is boring .")):
        assert parse_counterfactual(render_counterfactual(original, cf, "x"), original)[0] == cf


def test_unparseable_or_foreign_counterfactuals_are_rejected():
    assert parse_counterfactual("it would be positive", "a dull film") is None
    assert (
        parse_counterfactual('"a great film" -> "a bad film" would be negative', "a dull film") is None
    )  # not in the text
    assert parse_counterfactual('"dull" -> "dull" would be positive', "a dull film") is None  # no edit


def test_evidence_drops_label_words_and_f1_counts_overlap():
    assert rationale_evidence('negative: "dull", "lifeless"', ["negative", "positive"]) == "dull lifeless"
    assert token_f1('negative: "dull"', 'negative: "dull", "lifeless"') == 2 * (1 * 2 / 3) / (1 + 2 / 3)
    assert token_f1("great", "dull") == 0.0
