"""Fluent edits: part-of-speech-consistent swaps and a causal LM choosing among verified flips."""

from __future__ import annotations

import pytest
from test_editor import _run

from codistill.counterfactuals.generators.fluent import LMChooser, pos_consistent
from codistill.counterfactuals.lexicon import Lexicon


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.load()


def test_swaps_keep_part_of_speech(lexicon):
    assert pos_consistent(lexicon, "good", "bad") and pos_consistent(lexicon, "loves", "hates")
    assert pos_consistent(lexicon, "wonderfully", "terribly")
    assert not pos_consistent(lexicon, "recommend", "asset")  # a verb swapped for a noun
    assert not pos_consistent(lexicon, "quickly", "table")


class FakeLM:
    """Perplexity 10, or 1000 for any text containing a word from ``odd``."""

    def __init__(self, odd):
        self.odd, self.calls = set(odd), 0

    def perplexities(self, texts):
        self.calls += len(texts)
        return [1000.0 if self.odd & set(t.split()) else 10.0 for t in texts]


def test_lm_chooser_penalties_are_log_ratios_and_cached():
    lm = FakeLM({"bad"})
    chooser = LMChooser("fake", 0.5, scorer=lm)
    (pen,) = chooser.penalties([("a good film", ["a bad film", "a dull film"])])
    assert pen["a dull film"] == pytest.approx(0.0) and pen["a bad film"] == pytest.approx(0.5 * 4.605170, rel=1e-5)
    chooser.penalties([("a good film", ["a bad film"])])
    assert lm.calls == 3 and chooser.penalties([("x", [])]) == [{}]


def test_editor_prefers_the_flip_the_lm_finds_natural(base_config, monkeypatch):
    text = "the film is good ."
    (plain,), _ = _run(base_config, [text])
    first = plain.chosen.text
    assert plain.valid_candidates >= 2  # several verified flips to choose from
    odd = set(first.split()) - set(text.split())
    cfg = base_config.with_overrides({"editor.lm_weight": 1.0})
    from codistill.counterfactuals.generators import editor as editor_mod

    original_init = editor_mod.EditorGenerator.__init__

    def init(self, config, task):
        original_init(self, config, task)
        self.chooser = LMChooser("fake", config.editor.lm_weight, scorer=FakeLM(odd))

    monkeypatch.setattr(editor_mod.EditorGenerator, "__init__", init)
    (ranked,), _ = _run(cfg, [text])
    assert ranked.chosen.text != first and not (odd & set(ranked.chosen.text.split()))
    assert ranked.chosen.meta["lm_log_ppl_ratio"] == pytest.approx(0.0)
