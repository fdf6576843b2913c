"""Screening (verify.screen_dtype): a fast copy of the teacher screens candidates, the exact
teacher confirms every flip, so no kept counterfactual rests on the approximation."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from codistill.counterfactuals.generators.base import Request
from codistill.counterfactuals.generators.editor import EditorGenerator
from codistill.counterfactuals.pipeline import run_counterfactuals
from codistill.counterfactuals.verify import ScreenedVerifier, candidate_probs
from codistill.data import Example, get_task
from helpers import TRAIN, KeywordTeacher


class LyingScreen(KeywordTeacher):
    """The keyword teacher's probabilities with the classes swapped on about a third of the texts
    (fixed by a hash of the text): confident false flips and hidden flips alike."""

    name, fingerprint = "lying-screen", "lying-screen"

    def probs(self, texts):
        p = super().probs(texts)
        lie = np.array([zlib.crc32(t.encode()) % 3 == 0 for t in texts])
        p[lie] = p[lie][:, ::-1]
        return p


def _search(config, texts, verifier):
    gen = EditorGenerator(config, get_task("sst2"))
    gen.prepare([t for t, _ in TRAIN], "test-pool")
    reqs = []
    for i, t in enumerate(texts):
        p = verifier.probs([t])[0]
        reqs.append(Request(Example(f"e{i}", t, int(p.argmax())), int(p.argmax()), [float(x) for x in p]))
    return gen.search(reqs, verifier)


TEXTS = [t for t, _ in TRAIN[:6]] + [t for t, _ in TRAIN[20:26]]


def test_exact_teacher_vetoes_every_false_flip_of_the_screen(base_config):
    exact = KeywordTeacher()
    # the lie alone would keep counterfactuals the teacher never flips: the test can fail
    unscreened = _search(base_config, TEXTS, LyingScreen())
    assert any(o.chosen and exact.probs([o.chosen.text])[0].argmax() == exact.probs([t])[0].argmax() for o, t in zip(unscreened, TEXTS))

    screened = ScreenedVerifier(KeywordTeacher(), LyingScreen(), margin=0.1)
    outs = _search(base_config, TEXTS, screened)
    assert screened.stats["vetoed"] > 0 and screened.report()["veto_rate"] > 0
    kept = [(o, t) for o, t in zip(outs, TEXTS) if o.chosen]
    assert len(kept) >= 10  # vetoed winners fall back to the next candidates and later rounds
    for out, text in kept:
        for c in [out.chosen, *out.alternatives]:
            p = exact.probs([c.text])[0]
            assert c.label == int(p.argmax()) != int(exact.probs([text])[0].argmax())
            assert c.probs == pytest.approx(list(p))  # the exact teacher's probabilities, not the screen's


def test_screened_rows_that_flip_are_always_exact():
    texts = [t for t, _ in TRAIN]
    labels = [1 - y for _, y in TRAIN]  # pretend every original had the other label: many flips
    exact = KeywordTeacher()
    screened = ScreenedVerifier(KeywordTeacher(), LyingScreen(), margin=0.0)
    got = candidate_probs(screened, texts, labels)
    truth = exact.probs(texts)
    screen = LyingScreen().probs(texts)
    flips = got.argmax(1) != np.array(labels)
    assert flips.any() and np.allclose(got[flips], truth[flips])
    # rows left with the screen's probabilities are exactly those it called non-flips
    kept_screen = ~np.isclose(got, truth).all(1)
    assert kept_screen.any() and np.allclose(got[kept_screen], screen[kept_screen])
    assert (got[kept_screen].argmax(1) == np.array(labels)[kept_screen]).all()
    # a margin of 1 re-scores everything: exact scoring, and the plain verifier is unchanged
    assert np.allclose(candidate_probs(ScreenedVerifier(exact, LyingScreen(), margin=1.0), texts, labels), truth)
    assert np.allclose(candidate_probs(exact, texts, labels), truth)
    with pytest.raises(ValueError):
        ScreenedVerifier(exact, LyingScreen(), margin=-0.1)


def test_margin_rescues_near_boundary_flips():
    class Unsure(KeywordTeacher):  # the screen thinks every text barely keeps label 1
        def probs(self, texts):
            self.calls += len(texts)
            return np.tile([0.47, 0.53], (len(texts), 1))

    texts = ["the film is bad .", "the film is good ."]
    screened = ScreenedVerifier(KeywordTeacher(), Unsure(), margin=0.1)
    got = candidate_probs(screened, texts, [1, 1])
    assert got.argmax(1).tolist() == [0, 1] and screened.stats["rescued"] == 1 and screened.stats["screen_flips"] == 0
    assert candidate_probs(ScreenedVerifier(KeywordTeacher(), Unsure(), margin=0.0), texts, [1, 1]).argmax(1).tolist() == [1, 1]


@pytest.fixture
def tiny_teacher(tiny_models):
    return str(tiny_models("bert"))


def test_bf16_screening_pipeline_is_exact_and_deterministic(base_config, tiny_teacher, tmp_path):
    from codistill.counterfactuals.verify import TeacherVerifier

    def run(name, **verify):
        cfg = base_config.with_overrides({"teacher": tiny_teacher, "k": 16, "cache_dir": str(tmp_path / name / "cache"),
                                          "output_dir": str(tmp_path / name / "out"), "editor.max_rounds": 3,
                                          **{f"verify.{k}": v for k, v in verify.items()}})
        return run_counterfactuals(cfg, echo=lambda *a, **k: None)

    first, second = run("a", screen_dtype="bf16"), run("b", screen_dtype="bf16")
    assert [r.to_dict() for r in first.records] == [r.to_dict() for r in second.records]
    stats = first.run["screening"]
    assert stats["screened"] > 0 and stats["rescored"] <= stats["screened"] and stats["exact_texts"] > 0
    exact = TeacherVerifier(tiny_teacher)
    for r in first.records:
        p = exact.probs([r.counterfactual_text])[0]
        assert r.counterfactual_label == int(p.argmax()) != r.teacher_label_original
        assert r.teacher_probs_counterfactual == pytest.approx(list(p), abs=1e-4)
    plain = run("c")
    assert plain.run["screening"] is None and plain.run["cached_outcomes"] == 0
    # screened and exact outcomes never share cache entries
    again = run_counterfactuals(base_config.with_overrides({"teacher": tiny_teacher, "k": 16, "cache_dir": str(tmp_path / "a" / "cache"),
                                                            "output_dir": str(tmp_path / "d"), "editor.max_rounds": 3}), echo=lambda *a, **k: None)
    assert again.run["cached_outcomes"] == 0


def test_screening_copy_is_bf16_and_leaves_the_teacher_fp32(tiny_teacher):
    import torch

    from codistill.counterfactuals.verify import TeacherVerifier

    exact = TeacherVerifier(tiny_teacher)
    screen = exact.screening_copy("bf16")
    assert next(screen.model.parameters()).dtype == torch.bfloat16 and next(exact.model.parameters()).dtype == torch.float32
    assert screen.tokenizer is exact.tokenizer and screen.max_length == exact.max_length
    texts = [t for t, _ in TRAIN[:8]]
    assert screen.probs(texts).shape == (8, 2) and screen.calls == 8 and exact.calls == 0


def test_saliency_comes_from_the_screen_unless_told_otherwise(tiny_teacher):
    from codistill.counterfactuals.text import tokenize
    from codistill.counterfactuals.verify import TeacherVerifier

    exact = TeacherVerifier(tiny_teacher)
    screen = exact.screening_copy("bf16")
    texts = [t for t, _ in TRAIN[:4]]
    sal = ScreenedVerifier(exact, screen).word_saliency(texts, [tokenize(t) for t in texts], [0, 1, 0, 1])
    assert [len(s) for s in sal] == [len(t.split()) for t in texts] and screen.calls == 4 and exact.calls == 0
    ScreenedVerifier(exact, screen, saliency_from_screen=False).word_saliency(texts, [tokenize(t) for t in texts], [0, 1, 0, 1])
    assert exact.calls == 4 and screen.calls == 4
    assert not hasattr(ScreenedVerifier(KeywordTeacher(), LyingScreen()), "word_saliency")  # neither has it: the editor skips it


def test_a_tie_on_the_screen_is_confirmed_even_at_margin_zero():
    class Tied(KeywordTeacher):  # argmax of a tie is class 0: a flip for an original labelled 1
        def probs(self, texts):
            self.calls += len(texts)
            return np.full((len(texts), 2), 0.5)

    screened = ScreenedVerifier(KeywordTeacher(), Tied(), margin=0.0)
    got = candidate_probs(screened, ["the film is good ."], [1])
    assert got.argmax(1).tolist() == [1] and screened.stats["vetoed"] == 1
