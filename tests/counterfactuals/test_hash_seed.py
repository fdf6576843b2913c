"""The editor's output and candidate order do not depend on Python's string-hash seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.generators.base import Request
from codistill.counterfactuals.generators.editor import EditorGenerator
from codistill.counterfactuals.lexicon import Lexicon
from codistill.data import Example, get_task
from helpers import TRAIN, KeywordTeacher

class Recording(KeywordTeacher):
    seen = []
    def probs(self, texts):
        self.seen.extend(texts)
        return super().probs(texts)

lex = Lexicon.load()
polar = {f"{pos}{sign}": lex.polar_words(pos, sign) for pos in ("a", "v", "n", "r") for sign in (1, -1)}
cfg = CounterfactualConfig.from_dict({"data": {"task": "sst2"}, "teacher": "scripted", "progress": False, "report_similarity": False})
gen = EditorGenerator(cfg, get_task("sst2"))
gen.prepare([t for t, _ in TRAIN], "pool")
teacher = Recording()
texts = [t for t, _ in TRAIN] + ["a dull , tedious and awful mess .", "the best and most wonderful film i love ."]
reqs = []
for i, t in enumerate(texts):
    p = teacher.probs([t])[0]
    reqs.append(Request(Example(f"e{i}", t, int(p.argmax())), int(p.argmax()), [float(x) for x in p]))
outs = gen.search(reqs, teacher)
print(json.dumps({"polar": polar, "tried": teacher.seen, "chosen": [o.chosen.text if o.chosen else None for o in outs]}))
"""


def _run(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(HERE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("seeds", [("1", "2")])
def test_editor_does_not_depend_on_the_hash_seed(seeds):
    a, b = (_run(s) for s in seeds)
    assert a["polar"] == b["polar"]
    assert a["tried"] == b["tried"]  # every candidate, in the order the teacher saw them
    assert a["chosen"] == b["chosen"] and any(a["chosen"])
