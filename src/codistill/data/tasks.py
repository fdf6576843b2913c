"""The task registry: what each task is, where its data comes from and how it is scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from codistill.data.sources import HubDataset, PackagedRottenTomatoes
from codistill.errors import DataError

Source = Union[HubDataset, PackagedRottenTomatoes]
TaskKind = Literal["sentiment", "acceptability", "generic"]


@dataclass(frozen=True)
class TaskSpec:
    """A text-classification task with two or more classes.

    ``metrics`` lists what evaluation reports, the first being the headline (CoLA: MCC; tasks
    with more than two classes: macro-F1).
    ``sources`` maps a source name to where the data lives; ``--data-dir`` always overrides
    them with local files of the same shape (``text``/``label`` columns by default).
    """

    name: str
    description: str
    label_names: tuple[str, ...]
    metrics: tuple[str, ...] = ("accuracy", "macro_f1")
    text_noun: str = "text"
    sources: dict[str, Source] = field(default_factory=dict)
    default_source: str | None = None
    text_columns: tuple[str, ...] = ("text",)
    label_column: str = "label"
    kind: TaskKind = "generic"
    infer_labels: bool = False  # label names come from the files' label values (the local task)

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


TASKS: dict[str, TaskSpec] = {}


def task_kind(task) -> TaskKind:
    """What kind of task this is, for the editor's word lists and the LLM prompt template: a
    registered task says so itself; the local task is sentiment or acceptability only when its
    label names are exactly those of such a task, else generic (no sentiment lexicon assumed)."""
    kind: TaskKind = getattr(task, "kind", "generic")
    if kind != "generic":
        return kind
    names = tuple(str(n).lower() for n in task.label_names)
    if names == ("negative", "positive"):
        return "sentiment"
    if names == ("unacceptable", "acceptable"):
        return "acceptability"
    return "generic"


def register_task(spec: TaskSpec, *, overwrite: bool = False) -> TaskSpec:
    if spec.name in TASKS and not overwrite:
        raise ValueError(f"task {spec.name!r} is already registered")
    TASKS[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


SENTIMENT = ("negative", "positive")

register_task(
    TaskSpec(
        name="sst2",
        description="Stanford Sentiment Treebank (GLUE SST-2): movie-review phrases; test = GLUE validation",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="sentence",
        sources={"hub": HubDataset("nyu-mll/glue", "sst2", test_split="validation", text_columns=("sentence",))},
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="cola",
        description="Corpus of Linguistic Acceptability (GLUE CoLA); test = GLUE validation",
        label_names=("unacceptable", "acceptable"),
        kind="acceptability",
        metrics=("mcc", "accuracy", "macro_f1"),
        text_noun="sentence",
        sources={"hub": HubDataset("nyu-mll/glue", "cola", test_split="validation", text_columns=("sentence",))},
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="imdb",
        description="IMDB movie reviews (Maas et al. 2011)",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="review",
        sources={"hub": HubDataset("stanfordnlp/imdb")},
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="sentiment140",
        description="Sentiment140 tweets; neutral (2) dropped, 4 -> positive",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="tweet",
        sources={
            "hub": HubDataset(
                "stanfordnlp/sentiment140",
                label_column="sentiment",
                label_map={0: 0, 4: 1},
                drop_labels=(2,),
            )
        },
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="amazon_polarity",
        description="Amazon product reviews, polarity (title + content)",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="review",
        sources={"hub": HubDataset("fancyzhx/amazon_polarity", text_columns=("title", "content"))},
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="yelp_polarity",
        description="Yelp reviews, polarity; source full_stars maps 1-2 stars -> negative, 4-5 -> positive, drops 3",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="review",
        sources={
            "hub": HubDataset("fancyzhx/yelp_polarity"),
            # yelp_review_full labels are stars - 1 (0..4)
            "full_stars": HubDataset("Yelp/yelp_review_full", label_map={0: 0, 1: 0, 3: 1, 4: 1}, drop_labels=(2,)),
        },
        default_source="hub",
    )
)
register_task(
    TaskSpec(
        name="rotten_tomatoes",
        description="Rotten Tomatoes critic snippets (fresh/rotten), packaged offline; test = 15% of movies",
        label_names=SENTIMENT,
        kind="sentiment",
        text_noun="review",
        sources={
            "packaged": PackagedRottenTomatoes(),
            "hub": HubDataset("cornell-movie-review-data/rotten_tomatoes"),
        },
        default_source="packaged",
    )
)
register_task(
    TaskSpec(
        name="local",
        description="Your own files: --data-dir with train/test (csv, tsv, jsonl or parquet)",
        label_names=("0", "1"),
        infer_labels=True,
    )
)
register_task(
    TaskSpec(
        name="trec",
        description="TREC question classification (Li & Roth 2002), 6 coarse types; --data-dir with train/test jsonl",
        label_names=("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"),
        metrics=("macro_f1", "accuracy"),
        text_noun="question",
    )
)
register_task(
    TaskSpec(
        name="emotion",
        description="dair-ai Emotion tweets (Saravia et al. 2018), 6 imbalanced emotions; --data-dir with train/test jsonl",
        label_names=("sadness", "joy", "love", "anger", "fear", "surprise"),
        metrics=("macro_f1", "accuracy"),
        text_noun="tweet",
    )
)
