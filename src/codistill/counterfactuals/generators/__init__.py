"""Counterfactual generators, registered by name: ``editor`` (offline), ``openai``, ``hf-chat``."""

from codistill.counterfactuals.generators.base import (
    GENERATORS,
    Chosen,
    Failure,
    Generator,
    Outcome,
    Proposal,
    Request,
    choose,
    get_generator,
    register_generator,
)

__all__ = [
    "GENERATORS",
    "Chosen",
    "Failure",
    "Generator",
    "Outcome",
    "Proposal",
    "Request",
    "choose",
    "get_generator",
    "register_generator",
]
