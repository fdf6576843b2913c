"""The offline editor: grammatical negation, antonyms that keep inflection, verified flips."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TRAIN, KeywordTeacher

from codistill.counterfactuals.generators.base import Request
from codistill.counterfactuals.generators.editor import EditorGenerator, article_for
from codistill.counterfactuals.lexicon import Lexicon
from codistill.counterfactuals.text import words
from codistill.data import Example, get_task


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.load()


def test_lexicon_inflects_antonyms(lexicon):
    opposites = dict((w, s) for w, s, _ in lexicon.opposites("loves"))
    assert "hates" in opposites
    assert "worse" in [w for w, _, _ in lexicon.opposites("better")]
    assert "bad" in [w for w, _, _ in lexicon.opposites("good")]
    assert lexicon.polarity_of("good") > 0 > lexicon.polarity_of("boring")


def test_article_agreement():
    assert (
        article_for("awful") == "an"
        and article_for("bad") == "a"
        and article_for("unique") == "a"
        and article_for("honest") == "an"
    )


def _run(config, texts, teacher=None, **overrides):
    cfg = config.with_overrides({f"editor.{k}": v for k, v in overrides.items()}) if overrides else config
    gen = EditorGenerator(cfg, get_task("sst2"))
    gen.prepare([t for t, _ in TRAIN], "test-pool")
    teacher = teacher or KeywordTeacher()
    reqs = []
    for i, t in enumerate(texts):
        p = teacher.probs([t])[0]
        reqs.append(Request(Example(f"e{i}", t, int(p.argmax())), int(p.argmax()), [float(x) for x in p]))
    if hasattr(teacher, "batches"):
        teacher.batches = 0  # count only the editor's own teacher calls
    return gen.search(reqs, teacher), teacher


def test_editor_flips_with_grammatical_minimal_edits(base_config):
    texts = [
        "the film is good .",
        "it is n't boring .",
        "it isn't fun .",
        "she loves the story .",
        "a dull and boring story .",
    ]
    outs, teacher = _run(base_config, texts)
    chosen = {o.original_id: o.chosen for o in outs}
    assert all(c is not None for c in chosen.values())
    for out, text in zip(outs, texts):
        c = out.chosen
        # every output is a verified flip, labelled by the teacher
        assert c.label == int(teacher.probs([c.text])[0].argmax()) != int(teacher.probs([text])[0].argmax())
        assert c.edited_words <= 2
    # one word changed in place: a swap ("bad", or any word the teacher reads as non-positive) or "not"
    assert chosen["e0"].text.startswith("the film is ") and chosen["e0"].edited_words == 1
    assert chosen["e1"].text == "it is boring ."  # "is n't" -> "is", not "it not ..."
    assert chosen["e2"].text == "it is fun ."
    assert chosen["e3"].edited_words == 1 and chosen["e3"].text.startswith("she ")


def test_nearest_boundary_prefers_smaller_teacher_probability(base_config):
    text = ["the film is good ."]
    smallest, _ = _run(base_config, text)
    nearest, _ = _run(base_config.with_overrides({"selection": "nearest_boundary"}), text)
    p = lambda o: o.chosen.probs[o.chosen.label]  # noqa: E731
    assert p(nearest[0]) <= p(smallest[0])
    assert p(nearest[0]) < 0.6  # some flip lands just past the boundary ("bad" would give 0.89)


def test_candidates_are_batched_per_round(base_config):
    texts = [t for t, _ in TRAIN[:12]]
    outs, teacher = _run(base_config, texts, chunk_size=64)
    rounds = max(o.attempts for o in outs)
    assert teacher.batches <= rounds  # one teacher call per round for the whole chunk
    assert sum(o.chosen is not None for o in outs) >= 10


def test_unflippable_input_is_a_recorded_failure(base_config):
    (out,), _ = _run(base_config, ["the the the ."], max_rounds=2)
    assert out.chosen is None
    assert out.failures and out.failures[0].reason in {"editor:no_flip", "editor:no_edit"}


def test_editor_with_tiny_real_teacher_uses_saliency(base_config, tmp_path):
    from codistill.counterfactuals.verify import TeacherVerifier
    from codistill.testing import make_tiny_model

    path = make_tiny_model("bert", tmp_path / "tiny")
    verifier = TeacherVerifier(str(path), batch_size=16)
    texts = [t for t, _ in TRAIN[:6]]
    sal = verifier.word_saliency(
        texts, [__import__("codistill.counterfactuals.text", fromlist=["tokenize"]).tokenize(t) for t in texts], [0] * 6
    )
    assert [len(s) for s in sal] == [len(t.split()) for t in texts]
    outs, _ = _run(base_config, texts, teacher=verifier, max_rounds=2)
    for out, text in zip(outs, texts):
        if out.chosen is not None:  # a random teacher may not flip; any kept output must be verified
            p0 = verifier.probs([text])[0].argmax()
            assert verifier.probs([out.chosen.text])[0].argmax() != p0
        else:
            assert out.failures


class _LovesEmptyText:
    """A teacher that calls every text unacceptable except one with no words left, as the CoLA
    teacher of the Table-1 sweep did for "We kicked myself" -> "" (p=0.86)."""

    name = "loves-empty"
    fingerprint = "loves-empty-v1"

    def __init__(self) -> None:
        self.calls = 0
        self.seen: list[str] = []

    def probs(self, texts):
        self.calls += len(texts)
        self.seen.extend(texts)
        # fewer words look more acceptable to it (so deletions "help" and get stacked), but only
        # a text without words crosses the boundary
        p1 = [0.9 if not any(ch.isalnum() for ch in t) else 0.1 + 0.1 * max(0, 3 - len(words(t))) for t in texts]
        return np.array([[1 - p, p] for p in p1])


def test_editor_never_deletes_every_word(base_config):
    """Stacked deletions may empty a three-word sentence; such a candidate is never scored, and
    the input ends without a counterfactual instead of with an empty one."""
    gen = EditorGenerator(base_config, get_task("cola"))
    gen.prepare([t for t, _ in TRAIN], "test-pool")
    teacher = _LovesEmptyText()
    texts = ["We kicked myself", "Him left ."]
    reqs = [Request(Example(f"e{i}", t, 0), 0, [0.9, 0.1]) for i, t in enumerate(texts)]
    outs = gen.search(reqs, teacher)
    assert teacher.seen, "the editor proposed no candidate at all; the test would prove nothing"
    assert all(any(ch.isalnum() for ch in t) for t in teacher.seen)
    assert [o.chosen for o in outs] == [None, None]
    assert all(o.failures and o.failures[0].reason == "editor:no_flip" for o in outs)


def _state(text: str, label: int):
    from codistill.counterfactuals.generators.editor import State
    from codistill.counterfactuals.text import tokenize

    tokens = tokenize(text)
    req = Request(Example("x", text, label), label, [0.5, 0.5])
    return State(req, tokens, [t.lower for t in tokens], 1 if label == 1 else -1)


def test_word_sites_pad_the_ends():
    from codistill.counterfactuals.generators.edit_proposals import WordSite, word_sites

    assert word_sites(["it", "is", "good"]) == [
        WordSite(0, "it", "", "is"),
        WordSite(1, "is", "it", "good"),
        WordSite(2, "good", "is", ""),
    ]
    assert word_sites([]) == []


def test_negation_steps_of_the_sentiment_edits(base_config):
    from codistill.counterfactuals.generators.edit_proposals import word_sites

    gen = EditorGenerator(base_config, get_task("sst2"))
    st = _state("it is n't fun , but it will be good", 1)
    sites = word_sites(st.lower)
    # "is n't" -> "is": the negation is removed, nothing is inserted after "is" before "n't"
    removed = gen._negation_removals(st, sites[2])
    assert [(e.start, e.end, e.new, op) for e, _, op, _ in removed] == [(2, 3, (), "negation-")]
    assert gen._negation_insertions(st, sites[1]) == []
    # "be" after a modal gets no "not"; a plain copula gets "not" after it
    assert gen._negation_insertions(st, sites[8]) == []
    inserted = gen._negation_insertions(_state("it is good", 1), word_sites(["it", "is", "good"])[1])
    assert [(e.start, e.end, e.new, op) for e, _, op, _ in inserted] == [(2, 2, ("not",), "negation+")]
    # every step's proposal is part of the whole list, in the per-word order
    everything = gen._sentiment_edits(st)
    assert removed[0] in everything
