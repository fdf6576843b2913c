"""Counterfactual generation, teacher verification, caching and quality reports."""

from codistill.counterfactuals.record import CounterfactualRecord, read_counterfactuals, write_counterfactuals

__all__ = ["CounterfactualRecord", "read_counterfactuals", "write_counterfactuals"]
