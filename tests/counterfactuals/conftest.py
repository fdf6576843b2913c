from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import KeywordTeacher, write_data  # noqa: E402


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return write_data(tmp_path / "data")


@pytest.fixture
def teacher() -> KeywordTeacher:
    return KeywordTeacher()


@pytest.fixture
def base_config(data_dir: Path, tmp_path: Path):
    from codistill.counterfactuals.config import CounterfactualConfig

    return CounterfactualConfig.from_dict(
        {
            "data": {"task": "sst2", "data_dir": str(data_dir), "validation_size": 4},
            "k": 16,
            "seed": 0,
            "teacher": "scripted",
            "cache_dir": str(tmp_path / "cache"),
            "output_dir": str(tmp_path / "out"),
            "progress": False,
            "report_similarity": False,
        }
    )
