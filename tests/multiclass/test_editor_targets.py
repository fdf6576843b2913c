"""The editor on a three-class task with a scripted teacher (no models): mined edits reach the
runner-up, a named class, or every other class; every record is the teacher's verdict."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.pipeline import run_counterfactuals
from codistill.counterfactuals.text import words
from tests.conftest import write_jsonl

CUES = {
    "city": ("where", "city", "country"),
    "person": ("who", "person", "author"),
    "number": ("many", "number", "much"),
}
NAMES = sorted(CUES)  # the label ids of the local task: city, number, person


class CueTeacher:
    """Class scores = counts of its cue words (a small tie-break prefers city < number < person)."""

    name, fingerprint = "cue-teacher", "cue-teacher-v1"

    def __init__(self) -> None:
        self.calls = 0

    def probs(self, texts):
        self.calls += len(texts)
        out = []
        for t in texts:
            ws = words(t)
            s = np.array([sum(ws.count(c) for c in CUES[n]) + 0.1 * i for i, n in enumerate(NAMES)], dtype=float)
            e = np.exp(2 * (s - s.max()))
            out.append(e / e.sum())
        return np.array(out)


def _rows(n, seed):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name = NAMES[i % 3]
        cue = rng.choice(CUES[name])
        rows.append(
            {
                "text": f"{cue} is the {rng.choice(['big', 'old', 'new', 'first'])} one {rng.choice(['here', 'now', 'today'])} {i} ?",
                "label": name,
            }
        )
    return rows


@pytest.fixture
def config(tmp_path):
    write_jsonl(tmp_path / "d" / "train.jsonl", _rows(120, 1))
    write_jsonl(tmp_path / "d" / "test.jsonl", _rows(12, 2))
    return CounterfactualConfig.from_dict(
        {
            "data": {"task": "local", "data_dir": str(tmp_path / "d"), "validation_size": 6},
            "k": 24,
            "seed": 0,
            "teacher": "scripted",
            "cache_dir": str(tmp_path / "cache"),
            "output_dir": str(tmp_path / "out"),
            "progress": False,
            "report_similarity": False,
        }
    )


def _quiet(*_a, **_k):
    pass


def test_runner_up_by_mined_edits(config):
    result = run_counterfactuals(config, verifier=CueTeacher(), echo=_quiet)
    assert result.run["originals"] == 12 and len(result.records) >= 10  # >= 80% verified
    for r in result.records:
        p0 = np.asarray(r.teacher_probs_original)
        assert r.counterfactual_label == int(np.argmax(r.teacher_probs_counterfactual)) == int(np.argsort(-p0)[1])
        assert any(op.startswith("mined-") for op in r.meta["ops"])


def test_named_target(config, tmp_path):
    cfg = config.with_overrides({"target": "named", "target_class": "person", "output_dir": str(tmp_path / "named")})
    result = run_counterfactuals(cfg, verifier=CueTeacher(), echo=_quiet)
    assert result.records and {r.counterfactual_label for r in result.records} == {NAMES.index("person")}
    already = [f for f in result.failures if f["reason"] == "target:teacher_label"]
    assert len(already) == 4  # the originals the teacher already calls person


def test_multi_spreads_over_every_other_class(config, tmp_path):
    cfg = config.with_overrides({"target": "every_other", "per_original": 2, "output_dir": str(tmp_path / "multi")})
    result = run_counterfactuals(cfg, verifier=CueTeacher(), echo=_quiet)
    by_original = Counter()
    labels: dict[str, set[int]] = {}
    for r in result.records:
        by_original[r.original_id] += 1
        labels.setdefault(r.original_id, set()).add(r.counterfactual_label)
        assert r.counterfactual_label != r.teacher_label_original
    two = [o for o, n in by_original.items() if n == 2]
    assert two and all(len(labels[o]) == 2 for o in two)  # its two counterfactuals reach two different classes
