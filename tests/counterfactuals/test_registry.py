"""Generators are chosen through the registry: a program's own generator runs through the pipeline."""

from __future__ import annotations

import pytest
from helpers import KeywordTeacher

from codistill.counterfactuals.generators import GENERATORS, Generator, Proposal, register_generator
from codistill.counterfactuals.pipeline import run_counterfactuals


@pytest.fixture
def antonym_generator():
    @register_generator("test-antonyms")
    class Antonyms(Generator):
        """Proposes the text with its sentiment words swapped (an LLM-style generator: propose only)."""

        seen: list[str] = []

        def prepare(self, texts, source):
            type(self).seen = list(texts)

        def propose(self, requests, attempt):
            swap = {"good": "bad", "bad": "good", "great": "awful", "awful": "great"}
            return [[Proposal(" ".join(swap.get(w, w) for w in r.example.text.split()))] for r in requests]

    yield Antonyms
    GENERATORS.pop("test-antonyms")


def test_a_registered_generator_is_accepted_and_its_hooks_run(base_config, antonym_generator):
    cfg = base_config.with_overrides({"generator": "test-antonyms"})
    result = run_counterfactuals(cfg, echo=lambda *a, **k: None, verifier=KeywordTeacher())
    assert antonym_generator.seen  # prepare saw the pool
    assert result.report["originals"] == 8 and result.report["valid"] >= 1


def test_an_unregistered_generator_is_refused_with_the_known_names(base_config):
    from codistill.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown generator 'nope'; known: editor, hf-chat, openai"):
        base_config.with_overrides({"generator": "nope"})
