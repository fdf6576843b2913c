"""``codistill explain`` (teacher explanations) and ``codistill explain-distill`` (students
trained on them, one run or a grid of modes x k x seeds with statistics)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from codistill.cli.options import (
    BaseUrlOpt,
    CacheDirOpt,
    ConfigOpt,
    DataDirOpt,
    LlmOpt,
    MaxBudgetOpt,
    NoCacheOpt,
    OldModelOpt,
    OldOutputOpt,
    OutputDirOpt,
    PrintConfigOpt,
    QuietOpt,
    SetOpt,
    TaskOpt,
    build_config,
    data_overrides,
    echo_config,
    given,
    llm_options,
    llm_value,
    output_dir,
    printable_config,
    renamed,
)

if TYPE_CHECKING:
    from codistill.explanations.config import ExplainDistillConfig
    from codistill.explanations.generate import ExplainResult


def _ints(value: str | None) -> list[int] | None:
    from codistill.cli.options import int_list

    return int_list(value)


def explain(
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    k: Annotated[
        Optional[int],
        typer.Option("--k", "-k", help="k-shot budget (the largest a student will use; budgets are nested)."),
    ] = None,
    seeds: Annotated[
        Optional[str], typer.Option("--seeds", help="Comma-separated k-shot seeds whose examples are explained.")
    ] = None,
    teacher: Annotated[
        Optional[str], typer.Option("--teacher", help="Task teacher directory (labels, saliency, verification).")
    ] = None,
    explainer: Annotated[
        Optional[str], typer.Option("--explainer", help="Who explains: teacher (offline), openai or hf-chat.")
    ] = None,
    old_source: Annotated[Optional[str], typer.Option("--source", hidden=True, help="Renamed to --explainer.")] = None,
    llm: LlmOpt = None,
    old_model: OldModelOpt = None,
    base_url: BaseUrlOpt = None,
    critique: Annotated[bool, typer.Option("--critique", help="LLM sources: critique each rationale.")] = False,
    revise: Annotated[
        bool, typer.Option("--revise", help="LLM sources: revise after the critique (implies --critique).")
    ] = False,
    eval_examples: Annotated[
        Optional[int],
        typer.Option("--eval-examples", help="Also explain this many test examples (reference rationales)."),
    ] = None,
    max_budget: MaxBudgetOpt = None,
    output: OutputDirOpt = None,
    old_output: OldOutputOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Teacher explanations per example: a rationale, a teacher-verified counterfactual, optionally a critique and a revision."""
    from codistill.explanations.config import ExplainConfig
    from codistill.explanations.generate import generate_explanations

    explainer = renamed(explainer, old_source, "--explainer", "--source")
    options = llm_options(
        data_overrides(task, data_dir, prefix="data."),
        {
            "k": k,
            "seeds": _ints(seeds),
            "teacher": teacher,
            "source": explainer,
            "eval_examples": eval_examples,
            "max_budget_usd": max_budget,
            "output_dir": output_dir(output, old_output),
            "cache_dir": cache_dir,
        },
        generator=explainer,
        llm=llm_value(llm, old_model),
        base_url=base_url,
        no_cache=no_cache,
        quiet=quiet,
    )
    if critique or revise:
        options["critique"] = True
    if revise:
        options["revise"] = True
    cfg = build_config(ExplainConfig, config, set_, options)
    echo_explanations(generate_explanations(cfg, echo=typer.echo))


def echo_explanations(result: ExplainResult) -> None:
    """Counts, spending, the first three records and where they went."""
    from codistill.counterfactuals.budget import spending_lines

    run = result.run
    typer.echo(
        f"{run['examples']} training + {run['eval_examples']} test examples: {run['with_rationale']} rationales, "
        f"{run['with_counterfactual']} verified counterfactuals; ${run['cost_usd']:.4f}; {run['seconds']:.0f}s"
    )
    ledgers = [led for led in (run.get("counterfactual_ledger"), run.get("rationale_ledger")) if led]
    spent = {
        "cost_usd": run["cost_usd"],
        **{k: sum(led.get(k, 0) for led in ledgers) for k in ("unmetered", "over_reported")},
    }
    for line in spending_lines(spent, run.get("budget_usd"), run.get("stopped_by_budget")):
        typer.secho(line, fg=typer.colors.YELLOW)
    for r in result.records[:3]:
        typer.echo(f"  {r.text[:80]!r}\n    {r.rationale}\n    {r.counterfactual}")
    typer.echo(f"wrote {result.output_dir / 'explanations.jsonl'}")


def explain_distill(
    explanations: Annotated[
        Optional[str], typer.Option("--explanations", "-e", help="Output directory of `codistill explain`.")
    ] = None,
    student: Annotated[
        Optional[str], typer.Option("--student", help="Causal-LM student (default smollm2-135m-instruct).")
    ] = None,
    mode: Annotated[
        Optional[str],
        typer.Option("--mode", help="task, rationale, counterfactual or both; comma-separated for a grid."),
    ] = None,
    alpha: Annotated[
        Optional[float], typer.Option("--alpha", help="loss = alpha * task + (1 - alpha) * explanation.")
    ] = None,
    k: Annotated[
        Optional[str],
        typer.Option("--k", "-k", help="k-shot budget(s), comma-separated (default: the explanations' k)."),
    ] = None,
    seeds: Annotated[
        Optional[str], typer.Option("--seeds", help="Seed(s), comma-separated (explained seeds only).")
    ] = None,
    teacher: Annotated[
        Optional[str], typer.Option("--teacher", help="Task teacher (default: the explanations').")
    ] = None,
    lora: Annotated[
        bool, typer.Option("--lora", help="Train LoRA adapters (default settings; tune with --set lora.r=...).")
    ] = False,
    max_steps: Annotated[
        Optional[int], typer.Option("--max-steps", help="Optimisation steps (overrides epochs).")
    ] = None,
    results: Annotated[
        Optional[str],
        typer.Option("--results", help="Grid: resumable results file (default outputs/explain-distill/results.jsonl)."),
    ] = None,
    report: Annotated[
        Optional[str], typer.Option("--report", help="Grid: write the report (tables, ANOVA, post-hoc) here.")
    ] = None,
    output_dir: Annotated[
        Optional[str], typer.Option("--output-dir", "-o", help="Single run: save the student here.")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    print_config: PrintConfigOpt = False,
) -> None:
    """Train causal-LM students on labels + teacher explanations (task / rationale / counterfactual / both prefixes);
    report accuracy, macro-F1, agreement and the explanations' validity, self-consistency, overlap and simulatability."""
    modes = [m.strip() for m in mode.split(",")] if mode else None
    ks, seed_list = _ints(k), _ints(seeds)
    options = given(
        {
            "explanations": explanations,
            "student": student,
            "alpha": alpha,
            "teacher": teacher,
            "train.max_steps": max_steps,
            "output_dir": output_dir,
            "mode": modes[0] if modes else None,
            "k": ks[0] if ks else None,
            "seed": seed_list[0] if seed_list else None,
            "lora": {} if lora else None,
        }
    )
    cfg = explain_distill_config(config, options, set_, print_config)
    if print_config:
        echo_config(cfg)
        return
    grid = (
        results is not None
        or report is not None
        or len(modes or []) > 1
        or len(ks or []) > 1
        or len(seed_list or []) > 1
    )
    if not grid:
        _single_run(cfg)
        return
    _grid_run(cfg, modes or [cfg.mode], ks or [cfg.k or _explained_k(cfg)], seed_list or [cfg.seed], results, report)


def explain_distill_config(
    config: str | None, options: dict[str, Any], sets: list[str] | None, print_config: bool
) -> ExplainDistillConfig:
    """The file, then ``options``, then ``--set`` overrides; without ``--print-config`` an
    explanations directory is required (``options`` loses its ``explanations`` entry)."""
    from pathlib import Path

    from codistill.errors import ConfigError
    from codistill.explanations.config import ExplainDistillConfig

    data = ExplainDistillConfig.from_yaml(Path(config)).to_dict() if config else {}
    if "explanations" not in data and "explanations" not in options and not print_config:
        raise ConfigError("no explanations: pass --explanations DIR (the output of `codistill explain`)")
    if "explanations" in options:
        data["explanations"] = options.pop("explanations")
    cfg = (
        printable_config(ExplainDistillConfig, data)
        if print_config
        else ExplainDistillConfig.from_dict(data, "options")
    )
    cfg = cfg.with_overrides(options) if options else cfg
    if sets:
        cfg = cfg.with_overrides(sets)
    return cfg


def _single_run(cfg: ExplainDistillConfig) -> None:
    """Train one student and print its steps and metrics."""
    from codistill.explanations.run import distill_explanations

    m = distill_explanations(cfg, echo=typer.echo)
    typer.echo(
        f"{m['mode']} student, k={m['k']}, seed {m['seed']}: {m['train_steps']} steps in {m['timings']['train_seconds']:.0f}s"
    )
    typer.echo(json.dumps({key: round(v, 4) for key, v in m["metrics"].items()}))


def _grid_run(
    cfg: ExplainDistillConfig,
    modes: list[str],
    ks: list[int],
    seeds: list[int],
    results: str | None,
    report: str | None,
) -> None:
    """Run the grid of modes x k x seeds (resumable) and write its report."""
    from pathlib import Path

    from codistill.experiments.explain_sweep import run_explain_grid

    results_path = Path(results or "outputs/explain-distill/results.jsonl")
    records = run_explain_grid(cfg, modes, ks, seeds, results_path, echo=typer.echo)
    if records:
        from codistill.experiments.report import write_report

        files = write_report(
            results_path,
            Path(report) if report else results_path.parent / "report",
            title="codistill explanation distillation",
        )
        typer.echo(f"{len(records)} runs; report: {files.markdown}")


def _explained_k(cfg) -> int:
    from codistill.explanations.run import load_explanations

    return load_explanations(cfg.explanations)[0].k


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.command("explain-distill")(explain_distill)
