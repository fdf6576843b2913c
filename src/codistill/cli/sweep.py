"""``codistill sweep`` and ``codistill demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from codistill.cli.options import (
    ConfigOpt,
    KListOpt,
    MaxBudgetOpt,
    PrintConfigOpt,
    ReportToOpt,
    SeedsOpt,
    SetOpt,
    build_config,
    echo_config,
    int_list,
)

if TYPE_CHECKING:
    from codistill.experiments.stats import Correction


def _finish(config, result, echo=typer.echo, correction: Correction | None = None) -> None:
    """Print the pre-set design's tables and verdicts (Holm over each table's cells unless told
    otherwise) and write the report."""
    from codistill.experiments.design import design_note, load_design, split_records
    from codistill.experiments.report import headline_first, write_report
    from codistill.experiments.stats import DEFAULT_CORRECTION
    from codistill.experiments.tables import markdown_table, significance_lines

    correction = correction or DEFAULT_CORRECTION

    design = load_design(result.results_path.parent)
    records, secondary = split_records(result.records, design)  # the pre-set design's runs are the result
    # the tasks' headline metric first: MCC for CoLA-like tasks, macro-F1 for more than two classes
    head = headline_first(["accuracy", "mcc", "macro_f1"], [r.key.task for r in records])[0]
    metrics = list(dict.fromkeys([head, "accuracy", "agreement"]))
    for metric in metrics:
        echo(f"\n{metric}:\n" + markdown_table(records, metric, correction))
        for line in significance_lines(records, metric, correction):
            echo(line)
    if config.peers:  # every method beside the teacher-free peer (paired by seed, Holm over each row)
        from codistill.experiments.peer_table import peer_markdown

        echo(f"\n{metrics[0]}, every method vs SetFit:\n" + peer_markdown(records, metrics[0]))
    if secondary:
        echo(f"\n{design_note(design, secondary)} (report.md: the secondary analysis)")
    files = write_report(
        result.results_path,
        f"{config.output_dir}/report",
        counterfactual_files=sorted(set(result.counterfactual_files.values())),
        correction=correction,
    )
    echo(f"{result.ran} run(s) done, {result.skipped} reused, {result.seconds / 60:.1f} min; report: {files.html}")


def sweep(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    backend: Annotated[Optional[str], typer.Option("--backend", help="local (processes) or ray.")] = None,
    address: Annotated[
        Optional[str], typer.Option("--address", help="Ray cluster address (default: a local instance).")
    ] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", help="Parallel runs.")] = None,
    output_dir: Annotated[
        Optional[str], typer.Option("--output-dir", "-o", help="Where results.jsonl and the report go.")
    ] = None,
    k: KListOpt = None,
    seeds: SeedsOpt = None,
    cod_modes: Annotated[
        Optional[str], typer.Option("--cod-mode", help="CoD budget mode(s), comma-separated: paper, full, multi.")
    ] = None,
    report_to: ReportToOpt = None,
    max_budget: MaxBudgetOpt = None,
    print_config: PrintConfigOpt = False,
) -> None:
    """Run a grid of tasks x k x recipes x {baseline, +CoD} x seeds; resumable; ends with the report."""
    from codistill.experiments.config import SweepConfig
    from codistill.experiments.sweep import run_sweep

    grid = {
        "ks": int_list(k),
        "seeds": int_list(seeds),
        "cod_modes": [m.strip() for m in cod_modes.split(",")] if cod_modes else None,
    }
    options = {
        key: v
        for key, v in {
            "backend": backend,
            "ray_address": address,
            "workers": workers,
            "output_dir": output_dir,
            **grid,
        }.items()
        if v is not None
    }
    cfg = build_config(SweepConfig, config, set_, options)
    if report_to is not None:  # every run logs to the trackers under its key (logs/<key> for TensorBoard)
        cfg = cfg.with_overrides({"distill_overrides": [*cfg.distill_overrides, f"train.report_to={report_to}"]})
    if max_budget is not None:  # one cap for every counterfactual run of the sweep
        cfg = cfg.with_overrides(
            {"counterfactual_overrides": [*cfg.counterfactual_overrides, f"max_budget_usd={max_budget}"]}
        )
    if print_config:
        echo_config(cfg)
        return
    _finish(cfg, run_sweep(cfg, echo=typer.echo))


def demo_config(output_dir: str = "runs/demo", setfit: bool = True):
    """The embedded default, offline: a MiniLM-L6 teacher on the packaged Rotten Tomatoes task,
    offline-editor counterfactuals, KD and KD+CoD students and the teacher-free peer SetFit
    (all-MiniLM-L6-v2, setfit's defaults, gold labels of the same k texts) at k in {8, 16} x 3
    seeds, in the library's default budget mode (``full``: every real text plus one
    counterfactual each). The students are derived from the fine-tuned teacher (its first and
    last layers and its head): on validation agreement they beat 2 pretrained MiniLM layers in
    every cell, and the same 2 layers mean-pooled with the recommended pooled recipe
    (docs/results.md, "The demo"). Three seeds is the design fixed before any test score was seen.

    Sized for <= 10 minutes on 2 CPU cores: the teacher trains on a 5,000-example stratified
    subsample with frozen word embeddings, and the 12 student runs and 6 SetFit fits go to two
    single-threaded worker processes. SetFit's contrastive stage is most of the cost (a fit at
    k=32 alone takes over 2 minutes of a core), so the grid stops at k=16; ``setfit=False`` drops
    the peer."""
    from codistill.distill.budget_modes import DEFAULT_COD_MODE
    from codistill.experiments.config import SweepConfig, SweepTask

    return SweepConfig(
        tasks=[
            SweepTask(task="rotten_tomatoes", teacher_overrides=["max_train_examples=5000", "freeze_embeddings=true"])
        ],
        ks=[8, 16],  # the pre-set design with SetFit (docs/results.md, "The demo")
        recipes=["kd"],
        cod=[False, True],
        cod_modes=[DEFAULT_COD_MODE],  # the measured best (docs/results.md, "Budget modes")
        seeds=[0, 1, 2],  # the pre-set design (docs/results.md, "The demo")
        peers=["setfit"] if setfit else [],
        # teacher-derived students, chosen on validation agreement within the time budget
        distill_overrides=["student.derive.source=teacher", "student.derive.layers=2"],
        output_dir=output_dir,
        workers=2,
        threads_per_worker=1,
    )


def demo(
    output_dir: Annotated[
        str, typer.Option("--output-dir", "-o", help="Where the demo writes its results and report.")
    ] = "runs/demo",
    set_: SetOpt = None,
    setfit: Annotated[
        Optional[bool],
        typer.Option(
            "--setfit/--no-setfit",
            help="Run SetFit (MiniLM-L6, setfit's defaults) on the same k texts and seeds, the teacher-free "
            "peer; --no-setfit skips its 6 fits (about 3 minutes less on 2 cores). Default: on when the "
            "setfit package is installed.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The whole CoD protocol offline in one command: teacher, counterfactuals, KD vs KD+CoD vs SetFit, report."""
    from codistill.experiments.sweep import run_sweep
    from codistill.training.setfit_train import setfit_installed

    if setfit is None:
        setfit = setfit_installed()
        if not setfit:
            typer.echo(
                "setfit is not installed (pip install 'codistill[setfit]'): the demo runs without the SetFit peer"
            )
    cfg = demo_config(output_dir, setfit=setfit)
    if set_:
        cfg = cfg.with_overrides(set_)
    typer.echo(
        "codistill demo: rotten_tomatoes (packaged), MiniLM-L6 teacher, offline counterfactual editor, "
        + ("KD vs KD+CoD vs SetFit" if setfit else "KD vs KD+CoD")
    )
    _finish(cfg, run_sweep(cfg, echo=typer.echo))


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("demo")(demo)
