"""The fixed file names that commands writing one result put inside their ``-o/--output-dir``,
and the one way they write them (atomically, into a directory codistill owns)."""

from __future__ import annotations

from pathlib import Path

from codistill.counterfactuals.outputs import REPORT_FILE
from codistill.distill.record import METRICS_FILE

__all__ = ["EVALUATE_FILE", "REPORT_FILE", "SAMPLE_FILE", "write_result_dir"]
#: evaluate: the metrics record (the name a distill run gives its metrics)
EVALUATE_FILE = METRICS_FILE
#: the split a k-shot sample is drawn for; `data sample` writes DIR/<split>.jsonl, a local-data file name
SAMPLE_SPLIT = "train"


def split_file(split: str) -> str:
    """A split's file name in a ``--data-dir`` folder (``train.jsonl``)."""
    return f"{split}.jsonl"


#: data sample: the k-shot examples, usable as ``--train`` or inside a ``--data-dir``
SAMPLE_FILE = split_file(SAMPLE_SPLIT)


def write_result_dir(directory: str, kind: str, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> text) into ``directory`` in one atomic step; the directory gets
    codistill's ownership marker of ``kind``, and a rerun replaces only what codistill wrote there."""
    from codistill.utils.io import atomic_directory, atomic_write_text

    path = Path(directory).expanduser()
    with atomic_directory(path, kind) as tmp:
        for name, text in files.items():
            atomic_write_text(tmp / name, text, clean=False)
    return path
