"""``codistill report``: statistics, tables, figures and an HTML page for a results file."""

from __future__ import annotations

from typing import Annotated, Optional, cast

import typer


def report(
    results: Annotated[str, typer.Argument(help="Results file written by a sweep (JSON lines).")],
    output_dir: Annotated[str, typer.Option("--output-dir", "-o", help="Where to write the report.")] = "report",
    counterfactuals: Annotated[
        Optional[list[str]], typer.Option("--counterfactuals", help="Counterfactual file(s) to sample pairs from.")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Counterfactual pairs to show.")] = 25,
    correction: Annotated[
        str,
        typer.Option(
            "--correction", help="p-values shown: holm (Holm-adjusted across a table's cells) or none (per cell)."
        ),
    ] = "holm",  # experiments.stats.DEFAULT_CORRECTION
) -> None:
    """Mean ± std per cell, paired tests of the CoD gain, Table-1 style tables, plots, HTML."""
    from pathlib import Path

    from codistill.errors import ConfigError, DataError
    from codistill.experiments.report import write_report
    from codistill.experiments.stats import Correction
    from codistill.utils.io import claim_output_dir, release_if_unused

    if correction not in ("none", "holm"):
        raise ConfigError(f"--correction must be none or holm, not {correction!r}")
    if not Path(results).is_file():
        raise DataError(
            f"results file not found: {results}"
            + (" (a directory; give its results.jsonl)" if Path(results).is_dir() else "")
        )
    claim_output_dir(output_dir, "report", "report directory")
    try:
        files = write_report(
            results,
            output_dir,
            counterfactual_files=counterfactuals or (),
            sample_pairs=sample,
            correction=cast(Correction, correction),
        )
    except BaseException:
        release_if_unused(output_dir)  # a failed report leaves no empty folder behind
        raise
    typer.echo(files.markdown.read_text(encoding="utf-8"))
    typer.echo(f"wrote {files.html}, {files.markdown}, {len(files.csv)} CSV table(s), {len(files.figures)} figure(s)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
