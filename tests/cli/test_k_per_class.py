"""``--k-per-class N`` sets k to N times the task's classes after the config is built (file,
options, ``--set``), and refuses an explicit ``--k`` beside it."""

from __future__ import annotations

import yaml

from codistill.cli import main


def test_distill_k_per_class_multiplies_by_the_tasks_classes(capsys):
    assert main(["distill", "--print-config", "--task", "trec", "--k-per-class", "4"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["k"] == 24  # trec has 6 classes


def test_k_per_class_without_it_keeps_the_configs_k(capsys):
    assert main(["distill", "--print-config", "--task", "trec", "--set", "k=10"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["k"] == 10


def test_k_and_k_per_class_together_is_a_one_line_config_error(capsys):
    for command in ("distill", "counterfactuals"):
        assert main([command, "--task", "trec", "--k", "8", "--k-per-class", "4"]) == 2
        err = capsys.readouterr().err
        assert "give --k or --k-per-class, not both" in err
