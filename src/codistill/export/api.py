"""``export_onnx``: trace, optionally quantize, check against PyTorch, write a self-contained folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codistill.export.check import ExportRefused, OnnxClassifier, label_agreement, require_onnxruntime, torch_logits
from codistill.export.loading import Exportable, Exporter, load_exportable
from codistill.export.readme import readme_snippet

MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
META_FILE = "export.json"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    agreement: dict[str, float]  # artefact file name -> label agreement with the PyTorch model
    max_abs_diff: dict[str, float]  # artefact file name -> largest |logit difference|
    texts: int
    meta: dict[str, Any]


def trace(found: Exportable, path: Path, exporter: Exporter, opset: int) -> None:
    """Write ``found.module`` to ``path`` as ONNX with dynamic batch and sequence axes."""
    import torch

    example = found.tokenizer(["a short text", "a slightly longer example text"], padding=True, return_tensors="pt")
    args = tuple(example[n] for n in found.input_names)
    if exporter is Exporter.DYNAMO:
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
        torch.onnx.export(
            found.module,
            args,
            str(path),
            input_names=list(found.input_names),
            output_names=["logits"],
            dynamo=True,
            dynamic_shapes=tuple({0: batch, 1: seq} for _ in args),
            external_data=False,
            opset_version=max(opset, 18),
            verbose=False,
        )
    else:
        axes = {n: {0: "batch", 1: "sequence"} for n in found.input_names} | {"logits": {0: "batch"}}
        torch.onnx.export(
            found.module,
            args,
            str(path),
            input_names=list(found.input_names),
            output_names=["logits"],
            dynamo=False,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
        )
    found.module.eval()  # an exporter may leave the module in training mode (dropout on)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 (weights int8, activations quantized on the fly): no calibration data needed."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def export_onnx(
    model: str | Path,
    output_dir: str | Path,
    texts: Sequence[str],
    *,
    int8: bool = False,
    min_agreement: float = 0.99,
    exporter: Exporter = Exporter.TORCHSCRIPT,
    max_length: int | None = None,
    opset: int = 17,
    batch_size: int = 32,
    checked_on: str = "texts",
    progress: bool = False,
) -> ExportResult:
    """Export ``model`` to ``output_dir`` and check every artefact on ``texts``; raise
    :class:`ExportRefused` (nothing written) when one agrees with PyTorch on < ``min_agreement``."""
    import warnings

    from codistill.utils.io import atomic_directory, atomic_write_json, check_output_dir

    require_onnxruntime()
    if not texts:
        raise ExportRefused("no texts to check the export on")
    check_output_dir(Path(output_dir))
    found = load_exportable(model, max_length=max_length)
    reference = torch_logits(
        found.module,
        found.tokenizer,
        found.input_names,
        texts,
        found.max_length,
        batch_size=batch_size,
        progress="pytorch" if progress else False,
    )
    with atomic_directory(output_dir, "export") as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace(found, tmp / MODEL_FILE, exporter, opset)
            if int8:
                quantize_int8(tmp / MODEL_FILE, tmp / INT8_FILE)
        agreement, diff = {}, {}
        for name in (MODEL_FILE, INT8_FILE) if int8 else (MODEL_FILE,):
            runner = OnnxClassifier(tmp / name, found.tokenizer, found.max_length)
            logits = runner.logits(texts, batch_size=batch_size, progress=name if progress else False)
            agreement[name] = label_agreement(reference, logits)
            diff[name] = float(abs(logits - reference).max())
        failed = {k: v for k, v in agreement.items() if v < min_agreement}
        if failed:
            said = ", ".join(f"{k} agrees with the PyTorch model on {v:.2%}" for k, v in failed.items())
            raise ExportRefused(
                f"export refused: {said} of {len(texts)} {checked_on} (needs >= {min_agreement:.0%}); nothing was written"
            )
        found.tokenizer.save_pretrained(tmp)
        meta = {
            "kind": found.kind,
            "source": str(model),
            "label_names": list(found.label_names),
            "max_length": found.max_length,
            "inputs": list(found.input_names),
            "output": "logits",
            "pad_token": found.tokenizer.pad_token,
            "pooling": found.pooling or None,
            "files": {"fp32": MODEL_FILE, **({"int8": INT8_FILE} if int8 else {})},
            "exporter": exporter.value,
            "opset": opset,
            "check": {
                "on": checked_on,
                "texts": len(texts),
                "min_agreement": min_agreement,
                "agreement": agreement,
                "max_abs_logit_diff": diff,
            },
        }
        atomic_write_json(tmp / META_FILE, meta)
        (tmp / "README.md").write_text(readme_snippet(meta), encoding="utf-8")
    return ExportResult(Path(output_dir), agreement, diff, len(texts), meta)
