"""Model cards (README.md with Hugging Face front matter) for saved teachers and students."""

from __future__ import annotations

from typing import Any

import yaml


def _table(metrics: dict[str, float]) -> str:
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in metrics.items())
    return f"| metric | value |\n|---|---|\n{rows}"


def model_card(
    *,
    title: str,
    summary: str,
    base_model: str,
    task: str,
    label_names: list[str],
    test_metrics: dict[str, float],
    validation_metrics: dict[str, float] | None,
    config: dict[str, Any],
    details: dict[str, Any],
    usage: str | None = None,
    library: str = "transformers",
) -> str:
    """``usage``: the Usage section's body (default: loading with transformers' Auto classes)."""
    front = {
        "library_name": library,
        "pipeline_tag": "text-classification",
        "tags": ["codistill", "text-classification"],
        "base_model": base_model,
        "datasets": [task],
        "model-index": [
            {
                "name": title,
                "results": [
                    {
                        "task": {"type": "text-classification"},
                        "dataset": {"name": task, "type": task, "split": "test"},
                        "metrics": [{"type": k, "value": round(float(v), 6)} for k, v in test_metrics.items()],
                    }
                ],
            }
        ],
    }
    detail_lines = "\n".join(f"- {k}: {v}" for k, v in details.items())
    validation = f"\n\n## Validation (used for selection)\n\n{_table(validation_metrics)}" if validation_metrics else ""
    return f"""---
{yaml.safe_dump(front, sort_keys=False).strip()}
---

# {title}

{summary}

Labels: {", ".join(f"{i} = {n}" for i, n in enumerate(label_names))}.

## Test metrics

{_table(test_metrics)}{validation}

## Training

{detail_lines}

Full configuration (reproduce with `codistill` and this file as `--config`):

```yaml
{yaml.safe_dump(config, sort_keys=False).strip()}
```

## Usage

{usage or TRANSFORMERS_USAGE}"""


TRANSFORMERS_USAGE = """```python
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model = AutoModelForSequenceClassification.from_pretrained("PATH")
tokenizer = AutoTokenizer.from_pretrained("PATH")
```
"""

SETFIT_USAGE = """A SetFit model directory (no codistill needed): the sentence-transformers body (transformer
files, `modules.json`, `1_Pooling/`, `2_Normalize/` when the encoder normalises, `sentence_bert_config.json`
with the length the student was trained on), `config_setfit.json` (label names) and `model_head.pkl`, a
differentiable `SetFitHead` equal to the student's linear head (its probabilities are the student's
softmax). `pooled_head.safetensors` / `pooled_head.json` hold the same head as plain tensors (what
codistill loads).

```python
from setfit import SetFitModel

model = SetFitModel.from_pretrained("PATH")
model.predict(["a charming, often affecting film"])        # label names
model.predict_proba(["a charming, often affecting film"])  # probabilities
```

Embeddings only: `sentence_transformers.SentenceTransformer("PATH").encode(texts)`.
"""
