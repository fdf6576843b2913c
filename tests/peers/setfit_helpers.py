"""A tiny sentence-transformers model directory (BERT body + mean pooling), built from a config."""

from __future__ import annotations

import json
from pathlib import Path

from codistill.testing import make_tiny_model


def make_tiny_sentence_encoder(directory: Path, seed: int = 0) -> Path:
    make_tiny_model("bert", directory, head=False, num_layers=2, seed=seed)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (directory / "modules.json").write_text(json.dumps(modules))
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": False}))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True})
    )
    return directory
