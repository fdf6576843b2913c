"""Long inputs: edits stacked across sentences, only inside the span the teacher reads."""

from __future__ import annotations

import re

from helpers import KeywordTeacher
from test_editor import _run

from codistill.counterfactuals.generators.long_text import stack_sizes, visible_tokens
from codistill.counterfactuals.text import tokenize, words

LONG = (
    "the film opens in a small town where the story is good . the cast is great and the music is charming . "
    "the second act is fun and it never drags for a moment . the ending is wonderful and the photography is fine . "
    "i would watch it again with my family next week ."
)


class TruncatingTeacher(KeywordTeacher):
    """Reads only the first ``max_length`` whitespace tokens, and exposes an offsets tokenizer as
    a real verifier does."""

    max_length = 20

    def tokenizer(self, texts, truncation=True, max_length=None, return_offsets_mapping=True):
        offsets = [[(m.start(), m.end()) for m in re.finditer(r"\S+", t)][:max_length] for t in texts]
        return {"offset_mapping": offsets}

    def score(self, text):
        return super().score(" ".join(text.split()[: self.max_length]))


def test_stack_sizes_grow_with_length():
    assert stack_sizes(20, 3, 0.05) == [2, 3]
    assert stack_sizes(230, 3, 0.05) == [2, 3, 4, 6, 8, 10, 11]


def test_a_review_needing_several_edits_is_flipped_by_stacking(base_config):
    assert (
        len(words(LONG)) >= 40 and KeywordTeacher().score(LONG) >= 5
    )  # five positive words: no pair of edits flips it
    (out,), teacher = _run(base_config, [LONG], max_edit_fraction=0.08)
    assert out.chosen is not None, out.failures
    assert out.chosen.label == 0 == int(teacher.probs([out.chosen.text])[0].argmax())
    assert 4 <= out.chosen.edited_words <= 0.08 * len(words(LONG))
    (short,), _ = _run(base_config, [LONG], max_edit_fraction=0.08, long_words=1000)  # the phrase-length search cannot
    assert short.chosen is None


def test_edits_stay_inside_the_span_the_teacher_reads(base_config):
    teacher = TruncatingTeacher()
    toks = tokenize(LONG)
    (n,) = visible_tokens(teacher, [LONG], [toks])
    assert 15 <= n < len(toks) // 2
    (out,), _ = _run(base_config, [LONG], teacher=teacher)
    assert out.chosen is not None
    changed = [i for i, (a, b) in enumerate(zip(LONG.split(), out.chosen.text.split())) if a != b]
    assert changed and max(changed) < teacher.max_length
    assert visible_tokens(object(), [LONG], [toks]) == [len(toks)]  # no tokenizer: no restriction


class OfficeTeacher(KeywordTeacher):
    """Positive only once "office" (the last word) is replaced."""

    def score(self, text):
        return -1.0 if "office" in words(text) else 2.0


def test_inputs_that_run_out_of_edits_get_a_wider_search(base_config):
    text = "zorb blick yonder went to the office"
    # no salient-word edits in the first pass: only the widened search edits "office"
    (out,), _ = _run(base_config, [text], teacher=OfficeTeacher(), salient_words=0)
    assert out.chosen is not None and "office" not in out.chosen.text and out.chosen.label == 1
    assert out.attempts > 1
