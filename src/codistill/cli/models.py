"""``codistill models``: packaged models and layer-subset students."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from codistill.cli.options import OldOutputOpt, output_dir, renamed

#: what `models derive-student` derives from, and where it saves, unless told
DEFAULT_SOURCE, DEFAULT_STUDENT_DIR = "minilm-l6", "students/minilm-l6-2l"

app = typer.Typer(
    help="List packaged models; derive layer-subset students.", no_args_is_help=True, rich_markup_mode=None
)


@app.command("list")
def list_models() -> None:
    """Packaged models that load offline, and whether they are installed."""
    from codistill.models import PACKAGED_MODELS

    for m in PACKAGED_MODELS.values():
        typer.echo(f"{m.name:24s} {m.description}\n{'':24s} {m.status()}")


@app.command("derive-student")
def derive(
    from_: Annotated[
        Optional[str],
        typer.Option(
            "--from",
            help=f"The model to take layers from: packaged name, local path or hub id (default {DEFAULT_SOURCE}).",
        ),
    ] = None,
    old_source: Annotated[Optional[str], typer.Option("--source", hidden=True, help="Renamed to --from.")] = None,
    layers: Annotated[
        str, typer.Option("--layers", help="Number of layers to keep, or comma-separated indices.")
    ] = "2",
    output: Annotated[
        Optional[str],
        typer.Option("--output-dir", "-o", help=f"Directory for the student (default {DEFAULT_STUDENT_DIR})."),
    ] = None,
    old_output: OldOutputOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for a freshly initialised head.")] = 0,
) -> None:
    """Initialise a student from a subset of a pretrained model's layers (saved as a normal HF model)."""
    from codistill.errors import ConfigError
    from codistill.models import derive_student
    from codistill.utils.seed import check_seed

    check_seed(seed)
    source = renamed(from_, old_source, "--from", "--source")
    out = output_dir(output, old_output)
    try:
        keep: int | list[int] = [int(x) for x in layers.split(",")] if "," in layers else int(layers)
    except ValueError:
        raise ConfigError(f"--layers must be a count or comma-separated indices, got {layers!r}") from None
    path = derive_student(source or DEFAULT_SOURCE, keep, out or DEFAULT_STUDENT_DIR, seed=seed)
    typer.echo(f"saved student to {path}")
