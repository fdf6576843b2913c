"""The generated reference: every config field is documented, the commented YAML that
``--print-config`` writes loads back to the same config, and every command has a help page."""

from __future__ import annotations

import yaml

from codistill.config_docs import SECTIONS, _import, cli_reference, commented_yaml, markdown_reference
from codistill.distill.config import DistillConfig
from codistill.experiments.config import SweepConfig
from codistill.teacher.config import TeacherConfig


def test_every_field_of_every_section_is_in_the_reference():
    text = markdown_reference()
    for _, dotted in SECTIONS:
        cls = _import(dotted)
        for name in cls.model_fields:
            assert f"| `{name}` |" in text, f"{dotted}.{name} missing"


def test_commented_yaml_round_trips_and_carries_descriptions():
    for config in (DistillConfig(teacher="t", k=32, seed=3), SweepConfig(ks=[8, 16]), TeacherConfig()):
        text = commented_yaml(config)
        assert type(config).from_dict(yaml.safe_load(text)) == config
    text = commented_yaml(DistillConfig(teacher="t"))
    description = DistillConfig.model_fields["seed"].description
    assert f"# {description.split()[0]}" in text


def test_cli_reference_has_a_page_per_command():
    text = cli_reference()
    for command in ("teacher", "counterfactuals", "distill", "evaluate", "sweep", "report", "data sample"):
        assert f"## `codistill {command}`" in text


def test_print_config_writes_the_descriptions_as_comments_and_loads_back(capsys):
    from codistill.cli import main

    assert main(["teacher", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "  # registered task name" in text  # data.task's description, above the key
    assert TeacherConfig.from_dict(yaml.safe_load(text)) == TeacherConfig()
