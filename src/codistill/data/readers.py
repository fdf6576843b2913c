"""Readers for local csv / tsv / jsonl / parquet files.

Each reader yields ``(where, row)`` pairs where ``where`` is ``"file:line"`` (or ``"file:row N"``
for parquet), so every later error can point at the exact place in the user's file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codistill.errors import DataError

SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")

Row = tuple[str, dict[str, Any]]


def find_split_file(directory: Path, split: str) -> Path | None:
    """``directory/split.{jsonl,csv,tsv,parquet}``; an error if more than one exists."""
    found = [directory / f"{split}{suffix}" for suffix in SUFFIXES if (directory / f"{split}{suffix}").is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataError(f"{directory}: several files for split {split!r} ({names}); keep one")
    return found[0] if found else None


def read_rows(path: str | Path) -> Iterator[Row]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return _read_jsonl(path)
    if suffix in (".csv", ".tsv"):
        return _read_delimited(path, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return _read_parquet(path)
    raise DataError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}")


def text_lines(path: Path) -> Iterator[str]:
    """The lines of a UTF-8 text file (endings kept, a leading byte-order mark dropped); bytes
    that are not UTF-8 are a one-line :class:`DataError` naming ``file:line``."""
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8"
                ) from None
            yield line.removeprefix("\ufeff") if lineno == 1 else line


def read_jsonl(path: str | Path) -> Iterator[Row]:
    """``(file:line, object)`` for each non-empty line of a JSON-lines file (UTF-8 checked)."""
    return _read_jsonl(Path(path))


def _read_jsonl(path: Path) -> Iterator[Row]:
    for lineno, line in enumerate(text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        yield f"{path}:{lineno}", row


def _read_delimited(path: Path, delimiter: str) -> Iterator[Row]:
    reader = csv.reader(text_lines(path), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise DataError(f"{path}:1: duplicate column names in header {header}")
    previous_end = reader.line_num
    for record in reader:
        # a quoted field may span lines: report the line where the record starts
        line, previous_end = previous_end + 1, reader.line_num
        if not record or all(not c.strip() for c in record):
            continue
        if len(record) != len(header):
            raise DataError(f"{path}:{line}: expected {len(header)} fields ({', '.join(header)}), found {len(record)}")
        yield f"{path}:{line}", dict(zip(header, record))


def _read_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise DataError("reading parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: not a readable parquet file ({exc})") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"{path}:row {i}", row
