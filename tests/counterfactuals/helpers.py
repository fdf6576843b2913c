"""Scripted teachers and small data for the counterfactual tests (no downloads, no network)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from codistill.counterfactuals.text import words

POSITIVE = {
    "good",
    "great",
    "fun",
    "brilliant",
    "charming",
    "love",
    "loves",
    "entertaining",
    "best",
    "wonderful",
    "fine",
    "delight",
}
NEGATIVE = {"bad", "awful", "boring", "dull", "terrible", "hate", "hates", "worst", "tedious", "mess", "poor", "weak"}


class KeywordTeacher:
    """Positive minus negative keywords; "not"/"n't"/"never" within two words before a keyword
    flips it. Deterministic, with graded probabilities so 'nearest the boundary' is testable."""

    name = "keyword-teacher"
    fingerprint = "keyword-teacher-v1"

    def __init__(self) -> None:
        self.calls = 0
        self.batches = 0

    def score(self, text: str) -> float:
        toks = words(text)
        s = 0.0
        for i, t in enumerate(toks):
            v = 1.0 if t in POSITIVE else -1.0 if t in NEGATIVE else 0.0
            if v and any(x in ("not", "never") or x.endswith("n't") for x in toks[max(0, i - 2) : i]):
                v = -0.6 * v
            s += v
        return s

    def probs(self, texts):
        self.calls += len(texts)
        self.batches += 1
        out = []
        for t in texts:
            p = 1 / (1 + math.exp(-2.0 * self.score(t) + 0.1))
            out.append([1 - p, p])
        return np.array(out, dtype=np.float64)


class RefusingTeacher(KeywordTeacher):
    """Fails the test if the teacher is consulted (a fully cached run must not need it)."""

    def probs(self, texts):
        raise AssertionError(f"teacher called on {len(texts)} texts; expected everything from the cache")


TRAIN = [
    ("the film is good .", 1),
    ("a great and charming story .", 1),
    ("it is fun to watch .", 1),
    ("the acting is brilliant .", 1),
    ("i love this movie .", 1),
    ("the plot is entertaining .", 1),
    ("she loves the story .", 1),
    ("the best film of the year .", 1),
    ("it is a wonderful film .", 1),
    ("the cast is fine and the plot is good .", 1),
    ("a delight from start to finish .", 1),
    ("the movie is not bad .", 1),
    ("it is n't boring .", 1),
    ("the story is good and fun .", 1),
    ("a charming film .", 1),
    ("the film is great .", 1),
    ("this movie is entertaining .", 1),
    ("the acting is good .", 1),
    ("it is a good movie .", 1),
    ("the plot is fine .", 1),
    ("the film is bad .", 0),
    ("a dull and boring story .", 0),
    ("it is awful to watch .", 0),
    ("the acting is terrible .", 0),
    ("i hate this movie .", 0),
    ("the plot is tedious .", 0),
    ("he hates the story .", 0),
    ("the worst film of the year .", 0),
    ("it is a terrible film .", 0),
    ("the cast is weak and the plot is poor .", 0),
    ("a mess from start to finish .", 0),
    ("the movie is not good .", 0),
    ("it isn't fun .", 0),
    ("the story is dull and boring .", 0),
    ("a boring film .", 0),
    ("the film is awful .", 0),
    ("this movie is tedious .", 0),
    ("the acting is bad .", 0),
    ("it is a bad movie .", 0),
    ("the plot is weak .", 0),
]
TEST = [("a good film .", 1), ("a bad film .", 0), ("the plot is great .", 1), ("the plot is dull .", 0)]


def write_data(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", TRAIN), ("test", TEST)):
        (directory / f"{name}.jsonl").write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    return directory
