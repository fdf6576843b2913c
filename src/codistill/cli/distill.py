"""``codistill distill`` and ``codistill evaluate``."""

from __future__ import annotations

import json
from typing import Annotated, Optional

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
    k_from_per_class,
    output_dir,
    own_data_overrides,
)

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
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config as YAML and exit.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Distil a teacher into a student on a k-shot budget (optionally with counterfactuals, CoD).

    Prints one JSON record (the run's metrics) on the last line.
    """
    from codistill.distill import DistillConfig
    from codistill.errors import ConfigError

    source = data_source_value(data_source, old_source)
    options: dict = data_overrides(task, data_dir, source, text_column, label_column, prefix="data.")
    options.update(own_data_overrides(train, test, validation, unlabeled, label_names, prefix="data."))
    for key, value in (
        ("teacher", teacher),
        ("student.path", student),
        ("counterfactuals", counterfactuals),
        ("k", k),
        ("seed", seed),
        ("recipe", recipe),
        ("cod", cod),
        ("cod_mode", cod_mode),
        ("output_dir", output_dir),
        ("train.report_to", report_to),
    ):
        if value is not None:
            options[key] = value
    if counterfactuals and cod is None:
        options["cod"] = True
    cfg = build_config(DistillConfig, config, [*(overrides or []), *(set_ or [])], options)
    if k_per_class is not None:
        cfg = cfg.with_overrides({"k": k_from_per_class(cfg, None if k is None else cfg.k, k_per_class)})
    if print_config:  # what a run would use, inputs given or not
        from codistill.config_docs import commented_yaml

        typer.echo(commented_yaml(cfg), nl=False)  # every field's description as a comment
        return
    if cfg.teacher is None:
        raise ConfigError("no teacher: give --teacher PATH or set teacher in the config")
    from codistill.distill import distill
    from codistill.utils.distributed import is_main

    result = distill(cfg, progress=False if quiet else None)
    if not is_main():  # under `accelerate launch` the main process reports for all
        return
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

    from codistill.cli.outputs import EVALUATE_FILE, check_result_dir, write_result_dir
    from codistill.distill import DistillConfig, EvaluateConfig
    from codistill.distill.evaluate import evaluate
    from codistill.errors import ConfigError
    from codistill.models.loading import resolve_model
    from codistill.utils.io import json_text

    output = output_dir(output, old_output)
    if output:
        check_result_dir(output, EVALUATE_KIND)
    if not Path(student).expanduser().exists():
        resolve_model(student)  # a missing path or unknown name fails here, in one line, not as "--teacher is required"
    options: dict = {"student": student, "split": split}
    saved = Path(student) / "distill_config.yaml"
    if saved.is_file():  # a codistill run: take data, teacher and max_length from it
        run_cfg = DistillConfig.from_yaml(saved)
        options.update(
            {
                "teacher": run_cfg.teacher,
                "data": run_cfg.data.to_dict(),
                "max_length": run_cfg.train.max_length,
                "teacher_max_length": run_cfg.teacher_max_length,
            }
        )
    source = data_source_value(data_source, old_source)
    options.update(data_overrides(task, data_dir, source, text_column, label_column, prefix="data."))
    options.update(own_data_overrides(label_names=label_names, prefix="data."))
    if teacher:
        options["teacher"] = teacher
    if counterfactuals:
        options["counterfactuals"] = counterfactuals
    if contrast:
        options["contrast"] = contrast
    if "teacher" not in options and not config:
        raise ConfigError("--teacher is required (the student has no distill_config.yaml)")
    data = options.pop("data", None)
    cfg = (
        EvaluateConfig.from_yaml(Path(config))
        if config
        else EvaluateConfig.from_dict(
            {"teacher": options["teacher"], "student": student, **({"data": data} if data else {})}
        )
    )
    cfg = cfg.with_overrides(options)
    if set_:
        cfg = cfg.with_overrides(set_)
    record = evaluate(cfg)
    if "contrast" in record:
        echo_contrast(record["contrast"])
    if output:
        out = write_result_dir(output, EVALUATE_KIND, {EVALUATE_FILE: json_text(record)})
        typer.echo(f"wrote {out / EVALUATE_FILE}", err=True)
    typer.echo(json.dumps(record, sort_keys=True))


#: the ownership kind of an `evaluate` output directory
EVALUATE_KIND = "evaluate"


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_cmd)
    app.command("evaluate")(evaluate_cmd)
