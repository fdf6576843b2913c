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


def test_without_setfit_installed_the_demo_runs_without_the_peer(swept, capsys, tmp_path, monkeypatch):
    import codistill.training.setfit_train as setfit_train

    monkeypatch.setattr(setfit_train, "setfit_installed", lambda: False)
    assert main(["demo", "-o", str(tmp_path)]) == 0
    (cfg,) = swept
    assert cfg.peers == [] and "setfit is not installed" in capsys.readouterr().out


def test_a_sweep_with_peers_and_no_setfit_stops_before_any_work(monkeypatch, tmp_path):
    # the check runs before the teacher is trained, not in the first peer's worker minutes later
    import codistill.experiments.sweep as sweep_mod
    import codistill.training.setfit_train as setfit_train
    from codistill.cli.sweep import demo_config
    from codistill.errors import ConfigError

    monkeypatch.setattr(setfit_train, "setfit_installed", lambda: False)
    monkeypatch.setattr(sweep_mod, "prepare_teacher", lambda *a, **k: pytest.fail("a teacher was prepared"))
    with pytest.raises(ConfigError, match=r"codistill\[setfit\]"):
        sweep_mod.run_sweep(demo_config(str(tmp_path / "out")), echo=lambda *_: None)
    assert not (tmp_path / "out").exists()  # no half-made folder left behind
