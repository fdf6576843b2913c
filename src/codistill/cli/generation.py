"""``codistill generate-distill``: token-level KD of a causal-LM student on instruction data."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from codistill.cli.options import ConfigOpt, PrintConfigOpt, SetOpt, echo_config, printable_config


def generate_distill(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    teacher: Annotated[Optional[str], typer.Option("--teacher", help="Teacher causal LM.")] = None,
    student: Annotated[Optional[str], typer.Option("--student", help="Student causal LM (same tokenizer).")] = None,
    train_file: Annotated[Optional[str], typer.Option("--train", help="Training jsonl with prompt/response.")] = None,
    eval_file: Annotated[Optional[str], typer.Option("--eval", help="Evaluation jsonl with prompt/response.")] = None,
    loss: Annotated[Optional[str], typer.Option("--loss", help="forward_kl, reverse_kl or gjsd.")] = None,
    output_dir: Annotated[Optional[str], typer.Option("--output-dir", "-o", help="Save the student here.")] = None,
    print_config: PrintConfigOpt = False,
) -> None:
    """Distil a causal LM token by token (forward/reverse KL, generalised JSD; optional on-policy
    sampling); reports answer accuracy and teacher-student agreement."""
    from pathlib import Path

    from codistill.errors import ConfigError
    from codistill.generation import TokenKDConfig

    data: dict = TokenKDConfig.from_yaml(Path(config)).to_dict() if config else {"data": {}}
    for dotted, value in (
        ("teacher", teacher),
        ("student", student),
        ("data.train", train_file),
        ("data.eval", eval_file),
        ("loss", loss),
        ("output_dir", output_dir),
    ):
        if value is not None:
            node = data
            for part in dotted.split(".")[:-1]:
                node = node.setdefault(part, {})
            node[dotted.split(".")[-1]] = value
    cfg = printable_config(TokenKDConfig, data) if print_config else TokenKDConfig.from_dict(data, "options")
    if set_:
        cfg = cfg.with_overrides(set_)
    if print_config:
        echo_config(cfg)
        return
    from codistill.generation.run import distill_generation

    if cfg.data.eval is None and cfg.output_dir is None:
        raise ConfigError("nothing to report or save: set data.eval (--eval) or output_dir (-o)")
    m = distill_generation(cfg)
    typer.echo(f"trained {m['train_steps']} steps ({m['loss']}, lambda={m['lambda_on_policy']}) in {m['seconds']:.0f}s")
    if m["eval"]:
        typer.echo("before " + json.dumps(m["eval_before"]))
        typer.echo("after  " + json.dumps(m["eval"]))


def register(app: typer.Typer) -> None:
    app.command("generate-distill")(generate_distill)
