"""The README written next to an exported model: how to run it with onnxruntime alone."""

from __future__ import annotations

from typing import Any

TEMPLATE = """# {title}

Exported by codistill ({kind}{pooling}). Inputs: {inputs}; output: `logits` over {labels}.
Checked on {n} {on}: label agreement with the PyTorch model {agreement}.

Run it with onnxruntime and the tokenizer files in this folder (no PyTorch needed):

```python
import json, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer

meta = json.load(open("export.json"))
tok = Tokenizer.from_file("tokenizer.json")
tok.enable_truncation(meta["max_length"])
tok.enable_padding(pad_id=tok.token_to_id("{pad}") or 0)
session = ort.InferenceSession("{model_file}", providers=["CPUExecutionProvider"])

texts = ["a gripping, beautifully acted film", "dull and far too long"]
enc = tok.encode_batch(texts)
feeds = {{"input_ids": [e.ids for e in enc], "attention_mask": [e.attention_mask for e in enc],
         "token_type_ids": [e.type_ids for e in enc]}}
logits = session.run(None, {{n: np.array(feeds[n], dtype=np.int64) for n in meta["inputs"]}})[0]
print([meta["label_names"][i] for i in logits.argmax(-1)])
```

The logits are the model's final scores{pooled_note}; softmax them for probabilities.
"""


def readme_snippet(meta: dict[str, Any]) -> str:
    check = meta["check"]
    pooling = meta.get("pooling") or {}
    model_file = meta["files"].get("int8", meta["files"]["fp32"])
    return TEMPLATE.format(
        title=f"ONNX {meta['kind']} ({', '.join(meta['files'].values())})",
        kind=meta["kind"],
        pooling=f", {pooling['mode']} pooling{', L2-normalised' if pooling.get('normalize') else ''}"
        if pooling
        else "",
        inputs=", ".join(f"`{n}`" for n in meta["inputs"]),
        labels=", ".join(f"`{n}`" for n in meta["label_names"]),
        n=check["texts"],
        on=check["on"],
        agreement=", ".join(f"{k} {v:.2%}" for k, v in check["agreement"].items()),
        pad=meta.get("pad_token", "[PAD]"),
        model_file=model_file,
        pooled_note=" (pooling and the head are inside the graph)" if meta["kind"] == "pooled" else "",
    )
