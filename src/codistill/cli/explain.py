"""``codistill explain`` (teacher explanations) and ``codistill explain-distill`` (students
trained on them, one run or a grid of modes x k x seeds with statistics)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from codistill.cli.options import ConfigOpt, DataDirOpt, SetOpt, TaskOpt, build_config, data_overrides


def _ints(value: str | None) -> list[int] | None:
    from codistill.errors import ConfigError

    if value is None:
        return None
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {value!r}") from None


def explain(
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    k: Annotated[Optional[int], typer.Option("--k", "-k", help="k-shot budget (the largest a student will use; budgets are nested).")] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Comma-separated k-shot seeds whose examples are explained.")] = None,
    teacher: Annotated[Optional[str], typer.Option("--teacher", help="Task teacher directory (labels, saliency, verification).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="teacher (offline), openai or hf-chat.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="LLM for openai / hf-chat.")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
    critique: Annotated[bool, typer.Option("--critique", help="LLM sources: critique each rationale.")] = False,
    revise: Annotated[bool, typer.Option("--revise", help="LLM sources: revise after the critique (implies --critique).")] = False,
    eval_examples: Annotated[Optional[int], typer.Option("--eval-examples", help="Also explain this many test examples (reference rationales).")] = None,
    max_budget: Annotated[Optional[float], typer.Option("--max-budget", help="Stop cleanly before spending more than this many USD.")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Output directory.")] = None,
    cache_dir: Annotated[Optional[str], typer.Option("--cache-dir", help="Cache directory (default $CODISTILL_HOME/counterfactuals).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Teacher explanations per example: a rationale, a teacher-verified counterfactual, optionally a critique and a revision."""
    from codistill.explanations.config import ExplainConfig
    from codistill.explanations.generate import generate_explanations

    options: dict = {f"data.{key}": v for key, v in data_overrides(task, data_dir).items()}
    for key, value in (("k", k), ("seeds", _ints(seeds)), ("teacher", teacher), ("source", source), ("eval_examples", eval_examples),
                       ("max_budget_usd", max_budget), ("output_dir", output), ("cache_dir", cache_dir)):
        if value is not None:
            options[key] = value
    if critique or revise:
        options["critique"] = True
    if revise:
        options["revise"] = True
    if no_cache:
        options["use_cache"] = False
    if quiet:
        options["progress"] = False
    if model is not None:
        options["openai.model" if (source or "") == "openai" else "hf_chat.model"] = model
    if base_url is not None:
        options["openai.base_url"] = base_url
    cfg = build_config(ExplainConfig, config, set_, options)
    result = generate_explanations(cfg, echo=typer.echo)
    run = result.run
    typer.echo(f"{run['examples']} training + {run['eval_examples']} test examples: {run['with_rationale']} rationales, "
               f"{run['with_counterfactual']} verified counterfactuals; ${run['cost_usd']:.4f}; {run['seconds']:.0f}s")
    for r in result.records[:3]:
        typer.echo(f"  {r.text[:80]!r}\n    {r.rationale}\n    {r.counterfactual}")
    typer.echo(f"wrote {result.output_dir / 'explanations.jsonl'}")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
