"""The fixed file names that commands writing one result put inside their ``-o/--output-dir``,
and the one way they write them (atomically, into a directory codistill owns)."""

from __future__ import annotations

from pathlib import Path

from codistill.distill.record import METRICS_FILE

#: counterfactuals-report: the quality report (the name `codistill counterfactuals` gives its own report)
REPORT_FILE = "report.json"
#: evaluate: the metrics record (the name a distill run gives its metrics)
EVALUATE_FILE = METRICS_FILE
#: the split a k-shot sample is drawn for; `data sample` writes DIR/<split>.jsonl, a local-data file name
SAMPLE_SPLIT = "train"


def split_file(split: str) -> str:
    """A split's file name in a ``--data-dir`` folder (``train.jsonl``)."""
    return f"{split}.jsonl"


#: data sample: the k-shot examples, usable as ``--train`` or inside a ``--data-dir``
SAMPLE_FILE = split_file(SAMPLE_SPLIT)


def check_result_dir(directory: str, kind: str) -> Path:
    """Refuse, before any work, a directory the command must not write (see :func:`check_output_dir`)."""
    from codistill.utils.io import check_output_dir

    return check_output_dir(directory, kind=kind)


def write_result_dir(directory: str, kind: str, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> text) into ``directory`` in one atomic step; the directory gets
    codistill's ownership marker of ``kind``, and a rerun replaces only what codistill wrote there."""
    from codistill.utils.io import atomic_directory, atomic_write_text

    path = Path(directory).expanduser()
    with atomic_directory(path, kind) as tmp:
        for name, text in files.items():
            atomic_write_text(tmp / name, text, clean=False)
    return path
