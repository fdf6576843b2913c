"""Sweeps over tasks x k x recipes x seeds: resumable records, statistics, tables, reports."""

from codistill.experiments.records import ResultStore, RunKey, RunRecord
from codistill.experiments.stats import CellSummary, PairedComparison, compare_cod, summarise

__all__ = ["CellSummary", "PairedComparison", "ResultStore", "RunKey", "RunRecord", "compare_cod", "summarise"]
