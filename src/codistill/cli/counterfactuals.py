"""``codistill counterfactuals``: generate teacher-verified counterfactuals for the CoD originals,
and ``codistill counterfactuals-report`` to re-score an existing file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from codistill.cli.options import (
    BaseUrlOpt,
    CacheDirOpt,
    ConfigOpt,
    DataDirOpt,
    DataSourceOpt,
    KPerClassOpt,
    LabelColumnOpt,
    LabelNamesOpt,
    LlmOpt,
    MaxBudgetOpt,
    NoCacheOpt,
    OldModelOpt,
    OldOutputOpt,
    OldSourceOpt,
    OutputDirOpt,
    QuietOpt,
    SetOpt,
    TaskOpt,
    TextColumnOpt,
    TrainFileOpt,
    build_config,
    data_overrides,
    data_source_value,
    llm_options,
    llm_value,
    output_dir,
    own_data_overrides,
    with_k_per_class,
)

if TYPE_CHECKING:
    from codistill.counterfactuals.outputs import RunResult

#: the ownership kind of a counterfactuals-report output directory
REPORT_KIND = "counterfactuals-report"


def register(app: typer.Typer) -> None:
    app.command("counterfactuals")(counterfactuals)
    app.command("counterfactuals-report")(report)


def counterfactuals(
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    data_source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    train: TrainFileOpt = None,
    label_names: LabelNamesOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    k: Annotated[
        Optional[int],
        typer.Option(
            "--k",
            "-k",
            help="k-shot budget; counterfactuals are made for its k/2 CoD originals (with --train: every text).",
        ),
    ] = None,
    k_per_class: KPerClassOpt = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="k-shot sampling seed.")] = None,
    teacher: Annotated[
        Optional[str], typer.Option("--teacher", help="Teacher model directory (labels every counterfactual).")
    ] = None,
    generator: Annotated[
        Optional[str], typer.Option("--generator", "-g", help="editor (offline), openai, or hf-chat.")
    ] = None,
    selection: Annotated[
        Optional[str],
        typer.Option("--selection", help="Which verified flip wins: smallest | nearest_boundary | most_confident."),
    ] = None,
    llm: LlmOpt = None,
    old_model: OldModelOpt = None,
    base_url: BaseUrlOpt = None,
    max_attempts: Annotated[
        Optional[int], typer.Option("--max-attempts", help="LLM attempts per input, with teacher feedback.")
    ] = None,
    max_budget: MaxBudgetOpt = None,
    output: OutputDirOpt = None,
    old_output: OldOutputOpt = None,
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    report_lm: Annotated[
        Optional[str], typer.Option("--report-lm", help="Causal LM for report perplexity (e.g. smollm2-135m-instruct).")
    ] = None,
    quiet: QuietOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate counterfactuals (minimal edits that flip the teacher), verify them, write jsonl + Dataset + report."""
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    source = data_source_value(data_source, old_source)
    data = data_overrides(task, data_dir, source, text_column, label_column, prefix="data.")
    data.update(own_data_overrides(train, label_names=label_names, prefix="data."))
    options = llm_options(
        data,
        {
            "k": k,
            "seed": seed,
            "teacher": teacher,
            "generator": generator,
            "selection": selection,
            "max_attempts": max_attempts,
            "max_budget_usd": max_budget,
            "output_dir": output_dir(output, old_output),
            "cache_dir": cache_dir,
            "report_lm": report_lm,
        },
        generator=generator,
        llm=llm_value(llm, old_model),
        base_url=base_url,
        no_cache=no_cache,
        quiet=quiet,
    )
    cfg = with_k_per_class(build_config(CounterfactualConfig, config, set_, options), k, k_per_class)
    echo_counterfactuals(run_counterfactuals(cfg, echo=typer.echo).check_endpoint())


def echo_counterfactuals(result: RunResult) -> None:
    """The quality report, the LLM calls and spending, and where the counterfactuals went."""
    from codistill.counterfactuals.budget import spending_lines
    from codistill.counterfactuals.quality import format_report

    typer.echo(format_report(result.report))
    led = result.run["ledger"]
    typer.echo(
        f"calls: {led['calls']} new ({led['cached']} cached), tokens {led['prompt_tokens']}+{led['completion_tokens']}, "
        f"estimated ${led['cost_usd']:.4f}; outcomes from cache: {result.run['cached_outcomes']}/{result.run['originals']}"
    )
    for line in spending_lines(led, result.run["budget_usd"], result.run.get("stopped_by_budget")):
        typer.secho(line, fg=typer.colors.YELLOW)
    typer.echo(f"wrote {len(result.records)} counterfactuals to {result.output_dir / 'counterfactuals.jsonl'}")


def report(
    path: Annotated[str, typer.Argument(help="A counterfactuals.jsonl file.")],
    label_names: Annotated[str, typer.Option("--labels", help="Comma-separated label names.")] = "negative,positive",
    output: Annotated[
        Optional[str], typer.Option("--output-dir", "-o", help="Write report.json into this directory.")
    ] = None,
    old_output: OldOutputOpt = None,
    report_lm: Annotated[Optional[str], typer.Option("--report-lm", help="Causal LM for perplexity.")] = None,
) -> None:
    """Quality report of an existing counterfactual file (validity counts only what the file holds)."""
    from collections import Counter
    from pathlib import Path

    from codistill.cli.outputs import REPORT_FILE, write_result_dir
    from codistill.counterfactuals.fluency import CausalLMScorer, NGramLM
    from codistill.counterfactuals.quality import format_report, quality_report
    from codistill.counterfactuals.record import read_counterfactuals
    from codistill.utils.io import check_output_dir, json_text, read_json

    output = output_dir(output, old_output)
    if output:
        check_output_dir(output, kind=REPORT_KIND)
    records = read_counterfactuals(path)
    names = [n.strip() for n in label_names.split(",")]
    used = {
        v
        for r in records
        for v in (r.original_label, r.counterfactual_label, r.teacher_label_original)
        if v is not None
    }
    if len(names) < 2 or not all(n for n in names) or any(not 0 <= v < len(names) for v in used):
        from codistill.errors import ConfigError

        raise ConfigError(
            f"--labels {label_names!r} must name every label, comma-separated (the file has labels {sorted(used) or [0, 1]})"
        )
    failures_path = Path(path).with_name("failures.jsonl")
    import json

    failures = (
        [json.loads(x) for x in failures_path.read_text().splitlines() if x.strip()] if failures_path.is_file() else []
    )
    run_path = Path(path).with_name("run.json")
    n = read_json(run_path)["originals"] if run_path.is_file() else len(records)
    labels = {r.original_id: r.teacher_label_original for r in records}
    for f in failures:  # originals without a counterfactual still count in their class
        if f.get("final") and f.get("teacher_label_original") is not None:
            labels.setdefault(f["original_id"], f["teacher_label_original"])
    by_class = Counter(v for v in labels.values() if v is not None)
    fluency = CausalLMScorer(report_lm) if report_lm else NGramLM([r.original_text for r in records])
    rep = quality_report(
        records, failures, originals=n, originals_by_class=dict(by_class), label_names=names, fluency=fluency
    )
    typer.echo(format_report(rep))
    if output:
        out = write_result_dir(output, REPORT_KIND, {REPORT_FILE: json_text(rep)})
        typer.echo(f"wrote {out / REPORT_FILE}")
