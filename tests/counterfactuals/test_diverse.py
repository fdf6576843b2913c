"""Several diverse verified counterfactuals per original (per_original > 1, CoD multi)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import KeywordTeacher, RefusingTeacher

from codistill.counterfactuals.diverse import edit_signature, pick_diverse
from codistill.counterfactuals.pipeline import run_counterfactuals


def test_signature_and_pick_by_position_then_word():
    original = "the film is good and fun ."
    assert edit_signature(original, "the film is bad and fun .") == (frozenset({3}), frozenset({"bad"}))
    assert edit_signature(original, "the film is not good and fun .")[0] == frozenset({3})  # insertion before "good"
    ranked = [
        "the film is bad and fun .",  # best
        "the film is awful and fun .",  # same position as the best, other word
        "the film is bad and dull .",  # overlaps the best (position 3)
        "the film is good and boring .",  # a new position
    ]
    assert pick_diverse(original, ranked, 1) == ranked[:1]
    assert pick_diverse(original, ranked, 2) == [ranked[0], ranked[3]]  # a disjoint position beats a new word
    assert pick_diverse(original, ranked, 3) == [ranked[0], ranked[3], ranked[1]]  # then new words, in rank order
    assert pick_diverse(original, ranked[:1] * 2, 3) == ranked[:1]


def test_editor_returns_m_diverse_verified_flips(base_config):
    cfg = base_config.with_overrides({"per_original": 3})
    result = run_counterfactuals(cfg, verifier=KeywordTeacher(), echo=lambda *a, **k: None)
    teacher = KeywordTeacher()
    by_original: dict[str, list] = {}
    for r in result.records:
        by_original.setdefault(r.original_id, []).append(r)
        # every record is a verified flip labelled by the teacher
        assert (
            r.counterfactual_label
            == int(teacher.probs([r.counterfactual_text])[0].argmax())
            != r.teacher_label_original
        )
    assert max(len(v) for v in by_original.values()) == 3
    multi = [v for v in by_original.values() if len(v) > 1]
    assert len(multi) >= len(by_original) // 2
    for recs in multi:
        texts = [r.counterfactual_text for r in recs]
        assert len(set(texts)) == len(texts) and [r.meta["rank"] for r in recs] == list(range(len(recs)))
        sigs = [edit_signature(recs[0].original_text, t) for t in texts]
        for a in range(len(sigs)):
            for b in range(a + 1, len(sigs)):
                assert not (sigs[a][0] & sigs[b][0]) or sigs[a][1] != sigs[b][1]  # other positions or other words
    report = json.loads((Path(cfg.output_dir) / "report.json").read_text())
    assert report["valid"] == len(by_original) <= report["originals"]  # validity counts originals, not records
    assert report["per_original"]["records"] == len(result.records)
    # the single-counterfactual run keeps its own cache entries (and its best flip is the same)
    single = run_counterfactuals(base_config, verifier=KeywordTeacher(), echo=lambda *a, **k: None)
    assert single.run["cached_outcomes"] == 0
    again = run_counterfactuals(cfg, verifier=RefusingTeacher(), echo=lambda *a, **k: None)
    assert [r.to_dict() for r in again.records] == [r.to_dict() for r in result.records]
