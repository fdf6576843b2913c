"""``codistill distill`` and ``codistill evaluate``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from codistill.cli.options import (
    ConfigOpt,
    DataDirOpt,
    DataSourceOpt,
    KPerClassOpt,
    LabelColumnOpt,
    LabelNamesOpt,
    OldOutputOpt,
    OldSourceOpt,
    PrintConfigOpt,
    QuietOpt,
    ReportToOpt,
    SetOpt,
    TaskOpt,
    TestFileOpt,
    TextColumnOpt,
    TrainFileOpt,
    UnlabeledFileOpt,
    ValidationFileOpt,
    build_config,
    data_overrides,
    data_source_value,
    echo_config,
    given,
    output_dir,
    own_data_overrides,
    with_k_per_class,
)

if TYPE_CHECKING:
    from codistill.distill import DistillConfig, DistillResult, EvaluateConfig

OVERRIDES_HELP = "Config overrides key=value (e.g. k=16 recipe=lwd train.max_steps=300)."


def distill_cmd(
    overrides: Annotated[Optional[list[str]], typer.Argument(help=OVERRIDES_HELP, show_default=False)] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    data_source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    train: TrainFileOpt = None,
    test: TestFileOpt = None,
    validation: ValidationFileOpt = None,
    unlabeled: UnlabeledFileOpt = None,
    label_names: LabelNamesOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    teacher: Annotated[Optional[str], typer.Option("--teacher", help="Teacher model directory.")] = None,
    student: Annotated[
        Optional[str],
        typer.Option(
            "--student",
            help="Student model directory (default: every other layer of the teacher, head included, when it is a sequence classifier; else 2 layers of minilm-l6).",
        ),
    ] = None,
    counterfactuals: Annotated[
        Optional[str], typer.Option("--counterfactuals", help="Counterfactual jsonl (implies --cod).")
    ] = None,
    k: Annotated[Optional[int], typer.Option("--k", "-k", help="Budget.")] = None,
    k_per_class: KPerClassOpt = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Sampling and training seed.")] = None,
    recipe: Annotated[Optional[str], typer.Option("--recipe", help="kd, lwd, ted or ce.")] = None,
    cod: Annotated[
        Optional[bool], typer.Option("--cod/--no-cod", help="Train on counterfactuals too (see --cod-mode).")
    ] = None,
    cod_mode: Annotated[
        Optional[str],
        typer.Option(
            "--cod-mode",
            help="full (default): every original + one counterfactual; multi: cod_m each; paper: k/2 originals + theirs.",
        ),
    ] = None,
    output_dir: Annotated[Optional[str], typer.Option("--output-dir", "-o", help="Where to save the student.")] = None,
    report_to: ReportToOpt = None,
    print_config: PrintConfigOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Distil a teacher into a student on a k-shot budget (optionally with counterfactuals, CoD).

    Prints one JSON record (the run's metrics) on the last line.
    """
    from codistill.distill import DistillConfig

    source = data_source_value(data_source, old_source)
    options: dict = data_overrides(task, data_dir, source, text_column, label_column, prefix="data.")
    options.update(own_data_overrides(train, test, validation, unlabeled, label_names, prefix="data."))
    options.update(
        given(
            {
                "teacher": teacher,
                "student.path": student,
                "counterfactuals": counterfactuals,
                "k": k,
                "seed": seed,
                "recipe": recipe,
                "cod": True if counterfactuals and cod is None else cod,
                "cod_mode": cod_mode,
                "output_dir": output_dir,
                "train.report_to": report_to,
            }
        )
    )
    sets = [*(overrides or []), *(set_ or [])]
    cfg = with_k_per_class(build_config(DistillConfig, config, sets, options), k, k_per_class)
    if print_config:  # what a run would use, inputs given or not
        echo_config(cfg)
        return
    result = run_distill(cfg, quiet)
    from codistill.utils.distributed import is_main

    if is_main():  # under `accelerate launch` the main process reports for all
        echo_distill(result)


def run_distill(cfg: DistillConfig, quiet: bool) -> DistillResult:
    """Distil; a config without a teacher is a one-line config error."""
    from codistill.distill import distill
    from codistill.errors import ConfigError

    if cfg.teacher is None:
        raise ConfigError("no teacher: give --teacher PATH or set teacher in the config")
    return distill(cfg, progress=False if quiet else None)


def echo_distill(result: DistillResult) -> None:
    """A summary of the run on stderr, then its metrics as one JSON record on stdout."""
    m = result.metrics
    typer.echo(
        f"{m['method']} k={m['k']} seed={m['seed']}: {m['train_steps']} steps in {m['timings']['train']:.1f}s", err=True
    )
    for split in ("validation", "test"):
        if split in m:
            s = m[split]
            typer.echo(
                f"  {split:10s} acc={s['accuracy']:.4f} f1={s['macro_f1']:.4f} mcc={s['mcc']:.4f} agreement={s['agreement']:.4f} kl={s['kl_teacher_student']:.4f} ece={s['ece']:.4f}",
                err=True,
            )
    if "counterfactual_pairs" in m:
        p = m["counterfactual_pairs"]
        typer.echo(f"  pairs      flip_consistency={p['flip_consistency']:.4f} over {p['pairs']}", err=True)
    if "contrast" in m:
        echo_contrast(m["contrast"])
    if result.output_dir:
        typer.echo(f"  saved to {result.output_dir}", err=True)
    record = {k_: v for k_, v in m.items() if k_ not in ("loss_history", "validation_history")}
    typer.echo(json.dumps(record, sort_keys=True))


def echo_contrast(c: dict) -> None:
    line = f"  contrast   original={c['accuracy_original']:.4f} counterfactual={c['accuracy_counterfactual']:.4f} consistency={c['consistency']:.4f}"
    if "teacher" in c:
        line += f" (teacher {c['teacher']['consistency']:.4f}, agreement on pairs {c['vs_teacher']['consistency']:.4f})"
    typer.echo(line + f" over {c['pairs']} pairs", err=True)


def evaluate_cmd(
    student: Annotated[str, typer.Option("--student", help="Student model directory.")],
    teacher: Annotated[
        Optional[str],
        typer.Option("--teacher", help="Teacher model directory (default: from the student's distill_config.yaml)."),
    ] = None,
    task: TaskOpt = None,
    data_dir: DataDirOpt = None,
    data_source: DataSourceOpt = None,
    old_source: OldSourceOpt = None,
    text_column: TextColumnOpt = None,
    label_column: LabelColumnOpt = None,
    label_names: LabelNamesOpt = None,
    split: Annotated[str, typer.Option("--split", help="test or validation.")] = "test",
    counterfactuals: Annotated[
        Optional[str], typer.Option("--counterfactuals", help="Pairs for flip consistency.")
    ] = None,
    contrast: Annotated[
        Optional[str],
        typer.Option(
            "--contrast", help="Gold contrast pairs (jsonl: original, counterfactual, label, counterfactual_label)."
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output-dir", "-o", help="Also write the record as metrics.json into this directory."),
    ] = None,
    old_output: OldOutputOpt = None,
) -> None:
    """Score a student: accuracy, macro-F1, MCC, agreement with the teacher, KL, ECE and (with
    --counterfactuals) flip consistency; with --contrast, accuracy on gold contrast pairs. Prints one JSON record."""
    from pathlib import Path

    from codistill.cli.outputs import EVALUATE_FILE, write_result_dir
    from codistill.distill.evaluate import evaluate
    from codistill.models.loading import resolve_model
    from codistill.utils.io import check_output_dir, json_text

    output = output_dir(output, old_output)
    if output:
        check_output_dir(output, kind=EVALUATE_KIND)
    if not Path(student).expanduser().exists():
        resolve_model(student)  # a missing path or unknown name fails here, in one line, not as "--teacher is required"
    options: dict = {"student": student, "split": split, **saved_run_options(student)}
    source = data_source_value(data_source, old_source)
    options.update(data_overrides(task, data_dir, source, text_column, label_column, prefix="data."))
    options.update(own_data_overrides(label_names=label_names, prefix="data."))
    if teacher:
        options["teacher"] = teacher
    if counterfactuals:
        options["counterfactuals"] = counterfactuals
    if contrast:
        options["contrast"] = contrast
    record = evaluate(evaluate_config(options, config, set_))
    if "contrast" in record:
        echo_contrast(record["contrast"])
    if output:
        out = write_result_dir(output, EVALUATE_KIND, {EVALUATE_FILE: json_text(record)})
        typer.echo(f"wrote {out / EVALUATE_FILE}", err=True)
    typer.echo(json.dumps(record, sort_keys=True))


def saved_run_options(student: str) -> dict[str, Any]:
    """For a student saved by a codistill run (it has distill_config.yaml): the run's teacher, data
    and max lengths as evaluate options; else nothing."""
    from pathlib import Path

    from codistill.distill import DistillConfig

    saved = Path(student) / "distill_config.yaml"
    if not saved.is_file():
        return {}
    run_cfg = DistillConfig.from_yaml(saved)
    return {
        "teacher": run_cfg.teacher,
        "data": run_cfg.data.to_dict(),
        "max_length": run_cfg.train.max_length,
        "teacher_max_length": run_cfg.teacher_max_length,
    }


def evaluate_config(options: dict[str, Any], config: str | None, sets: list[str] | None) -> EvaluateConfig:
    """The evaluate config: the file (or the student, teacher and data in ``options``), then
    ``options``, then ``--set`` overrides. ``options`` loses its ``data`` entry."""
    from pathlib import Path

    from codistill.distill import EvaluateConfig
    from codistill.errors import ConfigError

    if "teacher" not in options and not config:
        raise ConfigError("--teacher is required (the student has no distill_config.yaml)")
    data = options.pop("data", None)
    cfg = (
        EvaluateConfig.from_yaml(Path(config))
        if config
        else EvaluateConfig.from_dict(
            {"teacher": options["teacher"], "student": options["student"], **({"data": data} if data else {})}
        )
    )
    cfg = cfg.with_overrides(options)
    if sets:
        cfg = cfg.with_overrides(sets)
    return cfg


#: the ownership kind of an `evaluate` output directory
EVALUATE_KIND = "evaluate"


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_cmd)
    app.command("evaluate")(evaluate_cmd)
