"""``codistill teacher``: fine-tune, select on validation, report test, cache."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from codistill.cli.options import (
    ConfigOpt,
    DataDirOpt,
    DataSourceOpt,
    LabelColumnOpt,
    LabelNamesOpt,
    OldSourceOpt,
    PrintConfigOpt,
    ReportToOpt,
    SetOpt,
    TaskOpt,
    TestFileOpt,
    TextColumnOpt,
    TrainFileOpt,
    ValidationFileOpt,
    build_config,
    data_overrides,
    data_source_value,
    echo_config,
    given,
    own_data_overrides,
)

if TYPE_CHECKING:
    from codistill.teacher import TeacherConfig, TeacherResult


def teacher(
    task: TaskOpt = None,
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="Packaged name (minilm-l6), local path or hub id.")
    ] = None,
    data_dir: DataDirOpt = None,
    source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    train: TrainFileOpt = None,
    test: TestFileOpt = None,
    validation: ValidationFileOpt = None,
    label_names: LabelNamesOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output_dir: Annotated[
        Optional[str], typer.Option("--output-dir", "-o", help="Save here (default: cache keyed by inputs).")
    ] = None,
    max_train_examples: Annotated[
        Optional[int], typer.Option("--max-train-examples", help="Train on a stratified subsample of the pool.")
    ] = None,
    epochs: Annotated[Optional[float], typer.Option("--epochs", help="Training epochs.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Per-device batch size.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Training seed.")] = None,
    report_to: ReportToOpt = None,
    method: Annotated[
        Optional[str],
        typer.Option(
            "--method", help="finetune (default): train on the pool; setfit: fit SetFit on k labelled texts only."
        ),
    ] = None,
    k: Annotated[
        Optional[int],
        typer.Option(
            "--k", help="With --method setfit: the labelled texts to fit on (class-balanced draw, seeded by --seed)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Retrain even if a cached teacher matches.")] = False,
    print_config: PrintConfigOpt = False,
) -> None:
    """Fine-tune a teacher on a task; select on validation, report test metrics, save model + card.

    Defaults: the packaged MiniLM-L6 on the packaged rotten_tomatoes task (fully offline).
    """
    from codistill.teacher import TeacherConfig, train_teacher

    source = data_source_value(source, old_source)
    options: dict = data_overrides(task, data_dir, source, text_column, label_column, prefix="data.")
    options.update(own_data_overrides(train, test, validation, label_names=label_names, prefix="data."))
    options.update(
        given(
            {
                "model": model,
                "output_dir": output_dir,
                "max_train_examples": max_train_examples,
                "train.epochs": epochs,
                "train.learning_rate": lr,
                "train.batch_size": batch_size,
                "train.seed": seed,
                "train.report_to": report_to,
                "method": method,
                "k": k,
            }
        )
    )
    cfg = build_config(TeacherConfig, config, set_, options)
    if print_config:
        echo_config(cfg)
        return
    _check_validation(cfg)
    from codistill.utils.distributed import is_main

    result = train_teacher(cfg, force=force)
    if is_main():  # under `accelerate launch` the main process reports for all
        echo_teacher(result)


def _check_validation(cfg: TeacherConfig) -> None:
    """A fine-tuned teacher on own texts needs validation texts to select on."""
    if cfg.method == "finetune" and cfg.data.train_file and not cfg.data.validation_file:
        from codistill.errors import ConfigError

        raise ConfigError("a fine-tuned teacher is selected on validation texts: with --train, give --validation FILE")


def echo_teacher(result: TeacherResult) -> None:
    """Where the teacher is, its test and validation metrics, and its warnings."""
    m = result.metrics
    state = (
        "cached teacher (same inputs; --force retrains)" if result.cached else f"trained in {m['total_seconds']:.0f}s"
    )
    typer.echo(f"{state}: {result.path}")
    typer.echo("test " + json.dumps({k: round(v, 4) for k, v in m["test"].items()}))
    typer.echo("validation " + json.dumps({k: round(v, 4) for k, v in m["validation"].items()}))
    for warning in m.get("warnings", []):
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)


def register(app: typer.Typer) -> None:
    app.command("teacher")(teacher)
