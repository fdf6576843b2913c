"""Tiny random decoder LMs (Qwen2, Llama) and a tiny sentiment task for the decoder-LLM tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import synthetic_sentiment, write_jsonl


@pytest.fixture(scope="session")
def llm_words():
    from codistill.testing import LLM_WORDS, TINY_WORDS

    return (*TINY_WORDS, *LLM_WORDS)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory, llm_words):
    """Factory: tiny random causal LM (or classifier) directories, built once per options."""
    from codistill.testing import make_tiny_model

    built: dict[tuple, Path] = {}

    def make(arch: str = "qwen2", *, causal_lm: bool = True, **kwargs) -> Path:
        key = (arch, causal_lm, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = make_tiny_model(
                arch, tmp_path_factory.mktemp(f"lm-{arch}"), causal_lm=causal_lm, words=llm_words, **kwargs
            )
        return built[key]

    return make


@pytest.fixture(scope="session")
def sentiment_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("llm-data")
    write_jsonl(root / "train.jsonl", synthetic_sentiment(200, seed=1))
    write_jsonl(root / "test.jsonl", synthetic_sentiment(40, seed=2))
    return root


@pytest.fixture(scope="session")
def sentiment_config(sentiment_data):
    from codistill.data import DataConfig

    return DataConfig(
        task="local", data_dir=str(sentiment_data), label_names=["negative", "positive"], validation_size=40
    )
