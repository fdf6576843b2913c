"""One spelling per thing: k lists and seeds are comma lists, --cod-mode names registered modes."""

from __future__ import annotations

import yaml


def test_sweep_takes_k_seeds_and_modes_as_comma_lists(capsys):
    from codistill.cli import main

    assert main(["sweep", "--print-config", "--k", "8,16", "--seeds", "0,1", "--cod-mode", "full,multi"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert (cfg["ks"], cfg["seeds"], cfg["cod_modes"]) == ([8, 16], [0, 1], ["full", "multi"])
    assert main(["sweep", "--print-config", "--k", "8,x"]) == 2
    assert main(["sweep", "--print-config", "--cod-mode", "half"]) == 2


def test_distill_defaults_to_the_full_budget_mode(capsys):
    from codistill.cli import main

    assert main(["distill", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["cod_mode"] == "full"
