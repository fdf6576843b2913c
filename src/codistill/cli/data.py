"""``codistill data``: inspect tasks and k-shot budgets."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from codistill.cli.options import (
    DataDirOpt,
    DataSourceOpt,
    KPerClassOpt,
    LabelColumnOpt,
    OldOutputOpt,
    OldSourceOpt,
    TaskOpt,
    TextColumnOpt,
    data_overrides,
    data_source_value,
    k_from_per_class,
    output_dir,
)

#: the ownership kind of a `data sample` output directory
SAMPLE_KIND = "data-sample"

app = typer.Typer(help="Inspect tasks, splits and k-shot budgets.", no_args_is_help=True, rich_markup_mode=None)


def _load(task, data_dir, source, text_column, label_column):
    from codistill.data import DataConfig, load_task

    config = DataConfig().with_overrides(data_overrides(task, data_dir, source, text_column, label_column))
    return load_task(config)


@app.command("tasks")
def tasks() -> None:
    """List the registered tasks."""
    from codistill.data import TASKS

    for spec in TASKS.values():
        sources = ", ".join(spec.sources) or "--data-dir"
        typer.echo(
            f"{spec.name:16s} {'/'.join(spec.label_names):24s} metrics={','.join(spec.metrics):24s} sources={sources}"
        )
        typer.echo(f"{'':16s} {spec.description}")


@app.command("show")
def show(
    task: TaskOpt = "rotten_tomatoes",
    data_dir: DataDirOpt = None,
    source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    examples: Annotated[int, typer.Option("--examples", "-n", min=0, help="Examples to print per split.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Load a task and print its splits, label balance and a few examples."""
    source = data_source_value(source, old_source)
    data = _load(task, data_dir, source, text_column, label_column)
    summary = data.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"task {summary['task']}  ({summary['source']})  fingerprint {summary['fingerprint']}")
    for split, info in summary["splits"].items():
        labels = ", ".join(f"{k}={v}" for k, v in info["labels"].items())
        typer.echo(f"  {split:10s} {info['size']:7d}  {labels}")
    for note in summary["notes"]:
        typer.echo(f"  note: {note}")
    for split in ("pool", "test"):
        for ex in data.split(split)[:examples]:
            text = ex.text if len(ex.text) <= 100 else ex.text[:97] + "..."
            typer.echo(f"  [{split} {ex.id}] {data.task.label_names[ex.label]}: {text}")


@app.command("sample")
def sample_cmd(
    k: Annotated[
        Optional[int], typer.Option("--k", "-k", help="Budget: number of training examples, balanced over the classes.")
    ] = None,
    k_per_class: KPerClassOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    cod: Annotated[
        bool, typer.Option("--cod", help="The CoD half-budget: the first k/2 of the same ordering.")
    ] = False,
    task: TaskOpt = "rotten_tomatoes",
    data_dir: DataDirOpt = None,
    source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output-dir", "-o", help="Write the examples as train.jsonl into this directory."),
    ] = None,
    old_output: OldOutputOpt = None,
) -> None:
    """Draw a nested, class-balanced k-shot set."""
    from codistill.cli.outputs import SAMPLE_FILE, write_result_dir
    from codistill.data import sample
    from codistill.utils.io import check_output_dir, jsonl_text
    from codistill.utils.seed import check_seed

    check_seed(seed)
    source = data_source_value(source, old_source)
    output = output_dir(output, old_output)
    if output:
        check_output_dir(output, kind=SAMPLE_KIND)
    from codistill.data import DataConfig
    from codistill.errors import ConfigError

    k = k_from_per_class(
        DataConfig().with_overrides(data_overrides(task, data_dir, source, text_column, label_column)), k, k_per_class
    )
    if k is None:
        raise ConfigError("give --k (a total budget) or --k-per-class")
    data = _load(task, data_dir, source, text_column, label_column)
    shots = sample(data, k, seed, cod=cod)
    rows = [{**e.to_dict(), "label_name": data.task.label_names[e.label]} for e in shots.examples]
    if output:
        out = write_result_dir(output, SAMPLE_KIND, {SAMPLE_FILE: jsonl_text(rows)})
        typer.echo(f"wrote {len(rows)} examples to {out / SAMPLE_FILE}")
    else:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
