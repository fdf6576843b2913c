"""``codistill export``: a deployable ONNX model (optionally int8), checked against PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codistill.cli.options import DataDirOpt, OldOutputOpt, TaskOpt, data_overrides, output_dir


def check_texts(
    model: str, texts_file: str | None, text_column: str, task: str | None, data_dir: str | None, limit: int | None
) -> tuple[list[str], str]:
    """The texts the export is checked on and what they are: a given file, else the test split of
    the task the model was trained on (its saved config) or of ``--task`` / ``--data-dir``."""
    from codistill.errors import ConfigError, DataError

    if texts_file:
        from codistill.data.readers import read_rows

        rows = [row for _, row in read_rows(texts_file)]  # (location, fields) pairs
        if rows and text_column not in rows[0]:
            raise DataError(f"{texts_file}: no {text_column!r} column (use --text-column)")
        texts, what = [str(r[text_column]) for r in rows], f"texts of {Path(texts_file).name}"
    else:
        from codistill.data import DataConfig, load_task

        options = data_overrides(task, data_dir)
        data_config = None
        for saved in ("distill_config.yaml", "teacher_config.yaml"):
            if (Path(model) / saved).is_file():
                import yaml

                data_config = DataConfig.from_dict(
                    (yaml.safe_load((Path(model) / saved).read_text(encoding="utf-8")) or {}).get("data") or {}
                )
                break
        if data_config is None and not options:
            raise ConfigError(
                "no texts to check on: give --texts FILE, --task or --data-dir (the model has no saved data config)"
            )
        data = load_task((data_config or DataConfig()).with_overrides(options) if options else data_config)
        texts, what = [e.text for e in data.test], f"{data.task.name} test texts"
    if limit:
        texts = texts[:limit]
    if not texts:
        raise DataError("no texts to check the export on")
    return texts, what


def export_cmd(
    model: Annotated[
        str, typer.Argument(help="Student or teacher directory (a classifier, or a SetFit / pooled student).")
    ],
    output: Annotated[Optional[str], typer.Option("--output-dir", "-o", help="Output directory (required).")] = None,
    old_output: OldOutputOpt = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write model.int8.onnx (dynamic int8 quantization).")
    ] = False,
    texts_file: Annotated[
        Optional[str],
        typer.Option("--texts", help="Check on this file's texts (jsonl/csv/tsv/parquet) instead of the test split."),
    ] = None,
    text_column: Annotated[str, typer.Option("--text-column", help="Text column of --texts.")] = "text",
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Check on the first N texts only.")] = None,
    min_agreement: Annotated[
        float, typer.Option("--min-agreement", min=0.0, max=1.0, help="Refuse below this label agreement.")
    ] = 0.99,
    max_length: Annotated[
        Optional[int], typer.Option("--max-length", min=1, help="Tokens per text (default: the model's).")
    ] = None,
    exporter: Annotated[str, typer.Option("--exporter", help="torchscript (fast) or dynamo.")] = "torchscript",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Export to ONNX and check the exported model against the PyTorch one (>= 99% label agreement, else exit 2)."""
    from codistill.errors import ConfigError
    from codistill.export import Exporter, export_onnx

    out = output_dir(output, old_output)
    if out is None:
        raise ConfigError("give the output directory: -o/--output-dir DIR")
    try:
        chosen = Exporter(exporter)
    except ValueError:
        raise ConfigError(
            f"--exporter must be one of {', '.join(e.value for e in Exporter)}, got {exporter!r}"
        ) from None
    texts, what = check_texts(model, texts_file, text_column, task, data_dir, limit)
    result = export_onnx(
        model,
        out,
        texts,
        int8=int8,
        min_agreement=min_agreement,
        exporter=chosen,
        max_length=max_length,
        checked_on=what,
        progress=not quiet,
    )
    for name, value in result.agreement.items():
        typer.echo(
            f"{name}: agreement {value:.4f} with PyTorch on {result.texts} {what} (max |logit diff| {result.max_abs_diff[name]:.2e})"
        )
    typer.echo(f"saved to {result.path}")


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
