"""``--print-config`` prints the resolved config on every command that has it, before any of the
command's required inputs are given (a required value shows as <required>)."""

from __future__ import annotations

import pytest
import yaml

from codistill.cli import main


@pytest.mark.parametrize(
    "command, required",
    [
        ("teacher", []),
        ("distill", []),
        ("sweep", []),
        ("explain-distill", ["explanations"]),
        ("generate-distill", ["teacher", "student", "data.train"]),
    ],
)
def test_print_config_needs_no_inputs(capsys, command, required):
    assert main([command, "--print-config"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    for dotted in required:
        node = cfg
        for part in dotted.split("."):
            node = node[part]
        assert node == "<required>"


def test_without_print_config_the_inputs_are_still_required(capsys):
    assert main(["explain-distill"]) == 2
    assert "no explanations" in capsys.readouterr().err
    assert main(["generate-distill"]) == 2
    assert "teacher: Field required" in capsys.readouterr().err


def test_print_config_still_refuses_a_bad_value(capsys):
    assert main(["generate-distill", "--print-config", "--set", "loss=nope"]) == 2
    assert "loss" in capsys.readouterr().err
