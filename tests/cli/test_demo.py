"""`codistill demo`: the pre-set design it runs, SetFit beside KD and KD+CoD unless --no-setfit."""

from __future__ import annotations

import pytest

from codistill.cli import main


@pytest.fixture
def swept(monkeypatch):
    """A stand-in for the sweep: keeps the config the command built and returns no records."""
    import codistill.cli.sweep as sweep_cli
    import codistill.experiments.sweep as sweep_mod

    configs = []
    monkeypatch.setattr(sweep_mod, "run_sweep", lambda cfg, echo=None: configs.append(cfg) or [])
    monkeypatch.setattr(sweep_cli, "_finish", lambda cfg, records: None)
    return configs


def test_the_demo_runs_setfit_beside_kd_and_kd_cod(swept, capsys, tmp_path):
    assert main(["demo", "-o", str(tmp_path)]) == 0
    (cfg,) = swept
    assert cfg.peers == ["setfit"] and cfg.cod == [False, True] and cfg.recipes == ["kd"]
    assert (cfg.ks, cfg.seeds) == ([8, 16], [0, 1, 2])  # the pre-set design (docs/results.md, "The demo")
    assert "SetFit" in capsys.readouterr().out


def test_no_setfit_drops_the_peer_and_set_still_overrides(swept, tmp_path):
    assert main(["demo", "-o", str(tmp_path), "--no-setfit", "--set", "ks=[8,16,32]"]) == 0
    (cfg,) = swept
    assert cfg.peers == [] and cfg.ks == [8, 16, 32]
