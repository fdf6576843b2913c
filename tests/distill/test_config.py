import pytest

from codistill.distill import DistillConfig
from codistill.distill.recipes import RECIPES
from codistill.errors import ConfigError


def test_recipe_expands_to_weighted_terms():
    cfg = DistillConfig(teacher="t")
    specs = cfg.loss_specs()
    assert [(s.name, s.weight) for s in specs] == [("ce", 1.0), ("kd", 20.0)]
    assert specs[1].params == {"temperature": 2.0}
    assert {"kd", "lwd", "ted", "ce"} <= set(RECIPES)


def test_explicit_losses_round_trip_through_yaml():
    text = """
teacher: /x
k: 8
cod: true
counterfactuals: cf.jsonl
losses:
  - {name: ce, weight: 1}
  - {name: gjsd, weight: 5, beta: 0.3, temperature: 2}
"""
    cfg = DistillConfig.from_yaml(text)
    assert cfg.loss_specs()[1].params == {"beta": 0.3, "temperature": 2}
    assert DistillConfig.from_yaml(cfg.to_yaml()) == cfg
    assert cfg.method == "custom+cod-full"  # the default budget mode, full, names itself
    assert cfg.with_overrides(["counterfactuals=null"]).method == "custom+half"


def test_bad_values_are_config_errors():
    with pytest.raises(ConfigError):
        DistillConfig.from_yaml("teacher: t\nrecipe: nope\n")
    with pytest.raises(ConfigError):
        DistillConfig(teacher="t").with_overrides(["k=1"])
    # a student path replaces the default derive section
    cfg = DistillConfig(teacher="t").with_overrides(["student.path=/s"])
    assert cfg.student.derive is None
