"""Explanation distillation: teacher explanations (rationales, verified counterfactuals, critiques,
revisions) as training targets for small generative students (Hendriks et al., 2025).

``generate_explanations`` (``codistill explain``) writes :class:`ExplanationRecord` files;
``distill_explanations`` (``codistill explain-distill``) trains a causal-LM student with a task
prefix and explanation prefixes (loss = alpha * task + (1 - alpha) * explanation) and reports
task accuracy next to the explainability of what the student writes.
"""

from codistill.explanations.config import ExplainConfig, ExplainDistillConfig
from codistill.explanations.record import ExplanationRecord, read_explanations, write_explanations

__all__ = ["ExplainConfig", "ExplainDistillConfig", "ExplanationRecord", "read_explanations", "write_explanations"]
