"""Options shared by several commands, and the config-building helpers behind them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar, cast

import typer

from codistill.config import ConfigBase

if TYPE_CHECKING:
    from codistill.data.config import DataConfig

C = TypeVar("C", bound=ConfigBase)
T = TypeVar("T")

TaskOpt = Annotated[Optional[str], typer.Option("--task", "-t", help="Registered task (see `codistill data tasks`).")]
DataDirOpt = Annotated[
    Optional[str],
    typer.Option("--data-dir", help="Directory with train/test[/validation] .jsonl/.csv/.tsv/.parquet files."),
]
DataSourceOpt = Annotated[
    Optional[str], typer.Option("--data-source", help="Named source of the task (hub, packaged, full_stars).")
]
OldSourceOpt = Annotated[Optional[str], typer.Option("--source", hidden=True, help="Renamed to --data-source.")]
TextColumnOpt = Annotated[
    Optional[list[str]], typer.Option("--text-column", help="Text column in local files (repeatable).")
]
LabelColumnOpt = Annotated[Optional[str], typer.Option("--label-column", help="Label column in local files.")]
ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="YAML config file.")]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a config value: key=value or section.key=value (repeatable)."),
]
PrintConfigOpt = Annotated[bool, typer.Option("--print-config", help="Print the resolved config as YAML and exit.")]
KPerClassOpt = Annotated[
    Optional[int],
    typer.Option("--k-per-class", help="Budget per class: k = this times the number of classes (instead of --k)."),
]

# LLM-backed commands (counterfactuals, explain)
LlmOpt = Annotated[
    Optional[str], typer.Option("--llm", help="LLM for openai / hf-chat (e.g. gpt-4o, smollm2-135m-instruct).")
]
OldModelOpt = Annotated[Optional[str], typer.Option("--model", hidden=True, help="Renamed to --llm.")]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp).")
]
MaxBudgetOpt = Annotated[
    Optional[float],
    typer.Option(
        "--max-budget", help="One spending cap in USD for the whole command: no API call starts that could cross it."
    ),
]
OutputDirOpt = Annotated[Optional[str], typer.Option("--output-dir", "-o", help="Output directory.")]
OldOutputOpt = Annotated[Optional[str], typer.Option("--output", hidden=True, help="Renamed to --output-dir.")]
CacheDirOpt = Annotated[
    Optional[str], typer.Option("--cache-dir", help="Cache directory (default $CODISTILL_HOME/counterfactuals).")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]

# your own texts (every stage that reads data takes them the same way)
TrainFileOpt = Annotated[
    Optional[str], typer.Option("--train", help="Your own training texts (file): every one is used, no k-shot draw.")
]
TestFileOpt = Annotated[
    Optional[str], typer.Option("--test", help="With --train: test texts (optional; metrics on them when given).")
]
ValidationFileOpt = Annotated[
    Optional[str],
    typer.Option("--validation", help="With --train: validation texts (optional; none: nothing is selected)."),
]
UnlabeledFileOpt = Annotated[
    Optional[str], typer.Option("--unlabeled", help="With --train: unlabeled texts the teacher labels (KD).")
]
LabelNamesOpt = Annotated[
    Optional[str],
    typer.Option("--label-names", help="Label names in id order, comma-separated (e.g. negative,positive)."),
]

ReportToOpt = Annotated[
    Optional[str],
    typer.Option(
        "--report-to", help="Experiment trackers: none, tensorboard, wandb, mlflow, trackio (comma-separated)."
    ),
]


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that were given (not None)."""
    return {k: v for k, v in values.items() if v is not None}


def echo_config(cfg: ConfigBase) -> None:
    """``--print-config``: the resolved config as YAML, every field's description as a comment."""
    from codistill.config_docs import commented_yaml

    typer.echo(commented_yaml(cfg), nl=False)


def renamed(new_value: T | None, old_value: T | None, new: str, old: str) -> T | None:
    """The value of option ``new`` or of its hidden old spelling ``old`` (one deprecation line on
    stderr when the old one is used; both at once is a one-line config error)."""
    if old_value is None:
        return new_value
    if new_value is not None:
        from codistill.errors import ConfigError

        raise ConfigError(f"{old} is the old spelling of {new}; give {new} only")
    typer.echo(f"warning: {old} is deprecated; use {new}", err=True)
    return old_value


def data_source_value(new_value: str | None, old_value: str | None) -> str | None:
    """``--data-source`` or its old spelling ``--source``."""
    return renamed(new_value, old_value, "--data-source", "--source")


def llm_value(new_value: str | None, old_value: str | None) -> str | None:
    """``--llm`` or its old spelling ``--model``."""
    return renamed(new_value, old_value, "--llm", "--model")


#: suffixes that mark a path as a file, which ``-o/--output-dir`` (always a directory) refuses
FILE_SUFFIXES = (".json", ".jsonl")


def output_dir(new_value: str | None, old_value: str | None = None) -> str | None:
    """``-o/--output-dir`` or its old spelling ``--output``; a file-looking path (the old
    ``--output FILE``) is a one-line config error: the option names a directory."""
    value = renamed(new_value, old_value, "--output-dir", "--output")
    if value is not None and value.lower().endswith(FILE_SUFFIXES):
        from codistill.errors import ConfigError

        raise ConfigError(f"-o/--output-dir takes a directory (codistill names the files in it), not a file: {value}")
    return value


def data_overrides(
    task: str | None = None,
    data_dir: str | None = None,
    source: str | None = None,
    text_column: list[str] | None = None,
    label_column: str | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """The non-empty data options as ``{prefix + field: value}`` for :meth:`ConfigBase.with_overrides`
    (``prefix="data."`` where the data config is a section of a larger one)."""
    values = {
        "task": task,
        "data_dir": data_dir,
        "source": source,
        "text_columns": text_column or None,
        "label_column": label_column,
    }
    return {prefix + k: v for k, v in values.items() if v is not None}


def k_from_per_class(config: ConfigBase, k: int | None, k_per_class: int | None) -> int | None:
    """``--k`` or, for ``--k-per-class N``, N times the number of classes of ``config.data``'s task."""
    if k_per_class is None:
        return k
    from codistill.data.loading import resolve_task
    from codistill.data.sampling import k_for_per_class
    from codistill.errors import ConfigError

    if k is not None:
        raise ConfigError("give --k or --k-per-class, not both")
    data = cast("DataConfig", getattr(config, "data", config))
    return k_for_per_class(k_per_class, resolve_task(data).num_labels)


def with_k_per_class(config: C, k: int | None, k_per_class: int | None) -> C:
    """``config`` with ``k`` set from ``--k-per-class`` when it was given (``k`` is the ``--k`` flag)."""
    if k_per_class is None:
        return config
    given_k = None if k is None else cast(int, getattr(config, "k"))  # noqa: B009 (C is any config with a k)
    return config.with_overrides({"k": k_from_per_class(config, given_k, k_per_class)})


# k lists and seeds are written one way everywhere: comma-separated (--k 8,16,32 --seeds 0,1,2)
KListOpt = Annotated[Optional[str], typer.Option("--k", "-k", help="k-shot budget(s), comma-separated (e.g. 8,16,32).")]
SeedsOpt = Annotated[Optional[str], typer.Option("--seeds", help="Seed(s), comma-separated (e.g. 0,1,2).")]


def int_list(value: str | None) -> list[int] | None:
    """``"8,16"`` -> [8, 16]; a bad list is a one-line config error."""
    from codistill.errors import ConfigError

    if value is None:
        return None
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {value!r}") from None


def own_data_overrides(
    train: str | None = None,
    test: str | None = None,
    validation: str | None = None,
    unlabeled: str | None = None,
    label_names: str | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Own-text options as ``{prefix + field: value}`` (files and label names)."""
    values = {
        "train_file": train,
        "test_file": test,
        "validation_file": validation,
        "unlabeled_file": unlabeled,
        "label_names": [n.strip() for n in label_names.split(",") if n.strip()] if label_names else None,
    }
    return {prefix + k: v for k, v in values.items() if v is not None}


def build_config(cls: type[C], config_path: str | None, sets: list[str] | None, options: dict[str, Any]) -> C:
    """File, then explicit options, then ``--set`` overrides (the last wins)."""
    from pathlib import Path

    config = cls.from_yaml(Path(config_path)) if config_path else cls()  # always a path, whatever its suffix
    if options:
        config = config.with_overrides(options)
    if sets:
        config = config.with_overrides(sets)
    return config


#: what --print-config shows for a required value not given yet
REQUIRED = "<required>"


def printable_config(cls: type[C], data: dict[str, Any], source: str = "options") -> C:
    """``cls`` from ``data`` for ``--print-config``, which works without the command's required
    inputs: a required value not given yet shows as :data:`REQUIRED`; any other bad value is the
    usual one-line config error."""
    import copy

    from pydantic import ValidationError

    data = copy.deepcopy(data)
    for _ in range(4):  # a nested section can be missing before its own required fields
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            missing = [e["loc"] for e in exc.errors() if e["type"] == "missing"]
            if not missing:
                break
            for loc in missing:
                node = data
                for part in loc[:-1]:
                    node = node.setdefault(str(part), {})
                node[str(loc[-1])] = REQUIRED
    return cls.from_dict(data, source)


def llm_options(
    options: dict[str, Any],
    values: dict[str, Any],
    *,
    generator: str | None,
    llm: str | None,
    base_url: str | None,
    no_cache: bool,
    quiet: bool,
) -> dict[str, Any]:
    """``options`` plus the non-empty ``values`` and the options every LLM-backed command shares:
    cache, progress, and the LLM / endpoint of the ``openai`` or ``hf-chat`` generator."""
    options.update(given(values))
    if no_cache:
        options["use_cache"] = False
    if quiet:
        options["progress"] = False
    if llm is not None:
        options["openai.model" if (generator or "") == "openai" else "hf_chat.model"] = llm
    if base_url is not None:
        options["openai.base_url"] = base_url
    return options
