"""Shared fixtures: tiny models and small synthetic datasets written to temporary folders."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

# keep tests hermetic: no hub, caches in a temporary home
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(
    os.environ.get("CODISTILL_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)

POSITIVE = ["good", "great", "excellent", "wonderful", "brilliant", "charming", "funny", "moving"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor", "weak", "slow"]
SUBJECTS = ["the film", "the movie", "the story", "the plot", "the acting", "this film", "it"]


def synthetic_sentiment(n: int, seed: int) -> list[dict]:
    """Separable two-class data over the tiny tokenizer's vocabulary."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = POSITIVE if label else NEGATIVE
        text = f"{rng.choice(SUBJECTS)} was {rng.choice(['', 'very ', 'really ', 'quite '])}{rng.choice(words)}"
        if rng.random() < 0.5:
            text += f" and {rng.choice(words)}"
        rows.append({"text": text, "label": label})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CODISTILL_HOME", str(tmp_path_factory.mktemp("codistill_home")))


@pytest.fixture
def sentiment_dir(tmp_path) -> Path:
    """train.jsonl (240 rows) and test.jsonl (60 rows) of synthetic sentiment."""
    root = tmp_path / "sentiment"
    write_jsonl(root / "train.jsonl", synthetic_sentiment(240, seed=1))
    write_jsonl(root / "test.jsonl", synthetic_sentiment(60, seed=2))
    return root


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Factory of tiny random model directories, one per (arch, options), built once a session."""
    from codistill.testing import make_tiny_model

    built: dict[tuple, Path] = {}

    def make(arch: str = "bert", **kwargs) -> Path:
        key = (arch, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = make_tiny_model(arch, tmp_path_factory.mktemp(f"tiny-{arch}"), **kwargs)
        return built[key]

    return make
