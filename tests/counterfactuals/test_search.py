"""The verify-and-retry loop, label rule and selection, on scripted generators and teachers."""

from __future__ import annotations

from codistill.counterfactuals.generators.base import Generator, Proposal, Request, choose
from codistill.data import Example, get_task


class ScriptedGenerator(Generator):
    name = "scripted"

    def __init__(self, config, replies):
        super().__init__(config, get_task("sst2"))
        self.replies = replies  # attempt -> list of raw replies (same for every request)
        self.seen_feedback = []

    def propose(self, requests, attempt):
        self.seen_feedback.append([list(r.feedback) for r in requests])
        return [[Proposal(raw, cost_usd=0.01) for raw in self.replies.get(attempt, [])] for _ in requests]


def _request(teacher, text="the film is good ."):
    p = teacher.probs([text])[0]
    return Request(Example("x1", text, 1), int(p.argmax()), [float(v) for v in p])


def test_retry_with_feedback_and_teacher_label(base_config, teacher):
    gen = ScriptedGenerator(base_config, {1: ["the film is good !"], 2: ['"the film is bad ."']})
    (out,) = gen.search([_request(teacher)], teacher)
    assert out.chosen is not None and out.chosen.text == "the film is bad ."
    assert out.chosen.label == 0  # the teacher's prediction, not the generator's intent
    assert out.attempts == 2 and abs(out.cost_usd - 0.02) < 1e-9
    assert [f.reason for f in out.failures] == ["teacher:no_flip"]
    # the second attempt was told what the teacher still predicted, with its probability
    fb = gen.seen_feedback[1][0]
    assert fb and fb[0]["text"] == "the film is good !" and fb[0]["label"] == 1 and 0.5 < fb[0]["prob"] <= 1


def test_parse_failures_are_recorded_and_attempts_bounded(base_config, teacher):
    cfg = base_config.with_overrides({"max_attempts": 2})
    gen = ScriptedGenerator(cfg, {1: ["", "line one\nline two"], 2: ["the film is good ."]})
    (out,) = gen.search([_request(teacher)], teacher)
    assert out.chosen is None and out.attempts == 2
    assert [f.reason for f in out.failures] == ["parse:empty", "parse:multiline", "parse:unchanged"]


def test_smallest_valid_candidate_wins(base_config, teacher):
    gen = ScriptedGenerator(base_config, {1: ["a terrible bad awful film .", "the film is bad ."]})
    (out,) = gen.search([_request(teacher)], teacher)
    assert out.chosen.text == "the film is bad ." and out.valid_candidates == 2 and out.chosen.edited_words == 1


def test_choose_rules():
    original = "the film is good ."
    flips = [
        ("the film is bad .", [0.95, 0.05], 0),
        ("the film is not good .", [0.6, 0.4], 0),
        ("a bad , bad film .", [0.51, 0.49], 0),
    ]
    assert choose(original, flips, 0, "smallest").text == "the film is not good ."  # 1 word, nearer the boundary
    assert choose(original, flips, 0, "nearest_boundary").text == "a bad , bad film ."
    assert choose(original, flips, 0, "most_confident").text == "the film is bad ."  # highest p(new label)
    assert choose(original, [], 0, "smallest") is None


def test_three_selections_pick_different_flips(base_config, teacher):
    """One search, three rules: the same verified flips, three different winners (keyword teacher)."""
    replies = {
        1: [
            "the film is not good .",  # 1 word, p(negative) ~0.6: nearest the boundary among 1-word flips
            "the film is bad .",  # 1 word, p(negative) ~0.9: the most confident flip
            "the film is not good , not bad .",
        ]
    }  # 4 words, p(negative) ~0.53: nearest the boundary overall
    picked = {}
    for selection in ("smallest", "nearest_boundary", "most_confident"):
        gen = ScriptedGenerator(base_config.with_overrides({"selection": selection}), replies)
        (out,) = gen.search([_request(teacher)], teacher)
        assert out.valid_candidates == 3
        picked[selection] = out.chosen.text
    assert picked == {
        "smallest": "the film is not good .",
        "nearest_boundary": "the film is not good , not bad .",
        "most_confident": "the film is bad .",
    }


def test_a_flip_without_words_is_never_chosen():
    """Whatever a generator proposes and the teacher says, "" or "." is not a counterfactual."""
    original = "We kicked myself"
    flips = [("", [0.1, 0.9], 1), (" . ", [0.2, 0.8], 1), ("We kicked ourselves", [0.4, 0.6], 1)]
    for selection in ("smallest", "nearest_boundary", "most_confident"):
        assert choose(original, flips, 1, selection).text == "We kicked ourselves"
    assert choose(original, flips[:2], 1, "smallest") is None
