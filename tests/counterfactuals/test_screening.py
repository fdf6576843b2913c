"""Screening (verify.screen_dtype): a fast copy of the teacher screens candidates, the exact
teacher confirms every flip, so no kept counterfactual rests on the approximation."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from helpers import TRAIN, KeywordTeacher

from codistill.counterfactuals.generators.base import Request
from codistill.counterfactuals.generators.editor import EditorGenerator
from codistill.counterfactuals.pipeline import run_counterfactuals
from codistill.counterfactuals.verify import ScreenedVerifier, candidate_probs
from codistill.data import Example, get_task


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
    assert any(
        o.chosen and exact.probs([o.chosen.text])[0].argmax() == exact.probs([t])[0].argmax()
        for o, t in zip(unscreened, TEXTS)
    )

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


def test_screen_flips_are_unconfirmed_until_picked_and_every_pick_is_exact():
    from codistill.counterfactuals.generators.base import Confirmation, pick_confirmed

    texts = [t for t, _ in TRAIN]
    exact = KeywordTeacher()
    truth, screen = exact.probs(texts), LyingScreen().probs(texts)
    # every other "original" has the label the exact teacher gives the candidate (a lie there is a
    # false flip), the rest the other one (a true flip)
    labels = [int(p.argmax()) if i % 2 else 1 - int(p.argmax()) for i, p in enumerate(truth)]
    screened = ScreenedVerifier(KeywordTeacher(), LyingScreen(), margin=0.0)
    got = candidate_probs(screened, texts, labels)
    flips = screen.argmax(1) != np.array(labels)
    assert flips.any() and np.allclose(got[flips], screen[flips])  # the screen's word, for now
    # one job per original: its screened flips; every pick comes back confirmed by the exact teacher
    jobs = [
        Confirmation(t, [(t2, list(map(float, got[j])), int(got[j].argmax()))], y)
        for t, y, t2, j in zip(texts, labels, texts, range(len(texts)))
        if flips[j]
    ]
    picks = pick_confirmed(screened, jobs, "smallest", 1)
    lied = [j for j in jobs if j.vetoed]
    assert lied and screened.stats["vetoed"] == len(lied) and 0 < screened.report()["veto_rate"] < 1
    for job, pick in zip(jobs, picks):
        for c in pick:
            p = exact.probs([c.text])[0]
            assert c.label == int(p.argmax()) != job.teacher_label and c.probs == pytest.approx(list(p))
    assert all(not pick for job, pick in zip(jobs, picks) if job.vetoed)  # one flip each: a veto leaves nothing
    # without screening nothing is re-scored and the plain verifier is exact
    assert np.allclose(candidate_probs(exact, texts, labels), truth)
    assert pick_confirmed(exact, [Confirmation("a", [("b", [0.2, 0.8], 1)], 0)], "smallest", 1)[0][0].probs == [
        0.2,
        0.8,
    ]
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
    assert candidate_probs(ScreenedVerifier(KeywordTeacher(), Unsure(), margin=0.0), texts, [1, 1]).argmax(
        1
    ).tolist() == [1, 1]


@pytest.fixture
def tiny_teacher(tiny_models):
    return str(tiny_models("bert"))


def test_bf16_screening_pipeline_is_exact_and_deterministic(base_config, tiny_teacher, tmp_path):
    from codistill.counterfactuals.verify import TeacherVerifier

    def run(name, **verify):
        cfg = base_config.with_overrides(
            {
                "teacher": tiny_teacher,
                "k": 16,
                "cache_dir": str(tmp_path / name / "cache"),
                "output_dir": str(tmp_path / name / "out"),
                "editor.max_rounds": 3,
                **{f"verify.{k}": v for k, v in verify.items()},
            }
        )
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
    again = run_counterfactuals(
        base_config.with_overrides(
            {
                "teacher": tiny_teacher,
                "k": 16,
                "cache_dir": str(tmp_path / "a" / "cache"),
                "output_dir": str(tmp_path / "d"),
                "editor.max_rounds": 3,
            }
        ),
        echo=lambda *a, **k: None,
    )
    assert again.run["cached_outcomes"] == 0


def test_screening_copy_is_bf16_and_leaves_the_teacher_fp32(tiny_teacher):
    import torch

    from codistill.counterfactuals.verify import TeacherVerifier

    exact = TeacherVerifier(tiny_teacher)
    screen = exact.screening_copy("bf16")
    assert (
        next(screen.model.parameters()).dtype == torch.bfloat16
        and next(exact.model.parameters()).dtype == torch.float32
    )
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
    ScreenedVerifier(exact, screen, saliency_from_screen=False).word_saliency(
        texts, [tokenize(t) for t in texts], [0, 1, 0, 1]
    )
    assert exact.calls == 4 and screen.calls == 4
    assert not hasattr(
        ScreenedVerifier(KeywordTeacher(), LyingScreen()), "word_saliency"
    )  # neither has it: the editor skips it


def test_a_tie_on_the_screen_is_confirmed_even_at_margin_zero():
    from codistill.counterfactuals.generators.base import Confirmation, pick_confirmed

    class Tied(KeywordTeacher):  # argmax of a tie is class 0
        def probs(self, texts):
            self.calls += len(texts)
            return np.full((len(texts), 2), 0.5)

    screened = ScreenedVerifier(KeywordTeacher(), Tied(), margin=0.0)
    text = "the film is good ."
    # original labelled 1: the tie reads as a flip, which the exact teacher vetoes before it is kept
    got = candidate_probs(screened, [text], [1])
    assert pick_confirmed(
        screened, [Confirmation("a film .", [(text, list(got[0]), int(got[0].argmax()))], 1)], "smallest", 1
    ) == [[]]
    assert screened.stats["vetoed"] == 1
    # original labelled 0: the tie reads as no flip at margin 0, and is re-scored (an exact flip: a rescue)
    assert candidate_probs(screened, [text], [0]).argmax(1).tolist() == [1] and screened.stats["rescued"] == 1


class ScriptedProposer:
    """A generator proposing fixed candidates per attempt (what an LLM would reply)."""

    def __new__(cls, config, replies):
        from codistill.counterfactuals.generators.base import Generator, Proposal

        class _Gen(Generator):
            name = "scripted"

            def propose(self, requests, attempt):
                return [[Proposal(raw=r) for r in replies[attempt - 1]] for _ in requests]

        return _Gen(config, get_task("sst2"))


def test_llm_search_falls_back_to_the_next_flip_when_the_exact_teacher_vetoes(base_config):
    class ClaimsFlips(KeywordTeacher):  # the screen says "the film is fine ." flips a positive original
        def probs(self, texts):
            p = super().probs(texts)
            p[[i for i, t in enumerate(texts) if t == "the film is fine ."]] = [0.9, 0.1]
            return p

    cfg = base_config.with_overrides({"max_attempts": 2})
    original = "the film is good ."
    req = Request(Example("e0", original, 1), 1, [0.1, 0.9])
    # attempt 1: only the lie (vetoed: the search goes on with feedback); attempt 2: a real flip
    gen = ScriptedProposer(cfg, [["the film is fine ."], ["the film is fine .", "the film is not good ."]])
    screened = ScreenedVerifier(KeywordTeacher(), ClaimsFlips(), margin=0.0)
    (out,) = gen.search([req], screened)
    assert out.chosen is not None and out.chosen.text == "the film is not good ." and out.attempts == 2
    assert out.chosen.probs == pytest.approx(list(KeywordTeacher().probs([out.chosen.text])[0]))
    assert [(f.attempt, f.reason) for f in out.failures if "vetoed" in f.detail] == [(1, "teacher:no_flip")]
    assert screened.stats["vetoed"] == 1 and req.feedback[0]["text"] == "the film is fine ."
    # the lie alone, unscreened, would have been kept at the first attempt
    (lied,) = ScriptedProposer(cfg, [["the film is fine ."]]).search(
        [Request(Example("e0", original, 1), 1, [0.1, 0.9])], ClaimsFlips()
    )
    assert lied.chosen is not None and lied.chosen.text == "the film is fine ."
