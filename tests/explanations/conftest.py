from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "counterfactuals"))

from helpers import KeywordTeacher, write_data  # noqa: E402


@pytest.fixture
def keyword_teacher() -> KeywordTeacher:
    return KeywordTeacher()


@pytest.fixture
def explain_config(tmp_path: Path):
    from codistill.explanations.config import ExplainConfig

    data = write_data(tmp_path / "data")
    return ExplainConfig.from_dict(
        {
            "data": {"task": "sst2", "data_dir": str(data), "validation_size": 4},
            "k": 8,
            "seeds": [0, 1],
            "eval_examples": 4,
            "cache_dir": str(tmp_path / "cache"),
            "output_dir": str(tmp_path / "explanations"),
            "progress": False,
        }
    )
