from pathlib import Path

import pytest

from codistill.distill import DistillConfig
from codistill.errors import ConfigError
from codistill.experiments.config import SweepConfig
from codistill.teacher import TeacherConfig


def test_yaml_round_trip_is_exact(tmp_path):
    cfg = TeacherConfig().with_overrides(
        ["data.task=sst2", "train.learning_rate=3e-5", "data.text_columns=[a, b]", "max_train_examples=500"]
    )
    assert TeacherConfig.from_yaml(cfg.to_yaml()) == cfg
    path = cfg.save(tmp_path / "t.yaml")
    assert TeacherConfig.from_yaml(path) == cfg
    assert TeacherConfig.from_yaml(str(path)) == cfg
    assert cfg.train.learning_rate == 3e-5 and cfg.data.text_columns == ["a", "b"]


def test_overrides_are_typed_and_validated():
    cfg = TeacherConfig().with_overrides({"train.epochs": "2", "data.split_seed": 7})
    assert cfg.train.epochs == 2.0 and cfg.data.split_seed == 7
    with pytest.raises(ConfigError, match="train.learning_rate"):
        TeacherConfig().with_overrides(["train.learning_rate=-1"])
    with pytest.raises(ConfigError, match="unknown key 'lr'"):
        TeacherConfig().with_overrides(["train.lr=1"])
    with pytest.raises(ConfigError, match="key=value"):
        TeacherConfig().with_overrides(["train.epochs"])
    with pytest.raises(ConfigError, match="not a section"):
        TeacherConfig().with_overrides(["model.name=x"])


def test_unknown_yaml_keys_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="modle"):
        TeacherConfig.from_yaml("modle: x\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        TeacherConfig.from_yaml("a: [\n")
    with pytest.raises(ConfigError, match="config file not found"):
        TeacherConfig.from_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        TeacherConfig.from_yaml("- 1\n- 2\n")


def test_fingerprint_tracks_values():
    a = TeacherConfig()
    assert a.fingerprint() == TeacherConfig().fingerprint()
    assert a.fingerprint() != a.with_overrides(["train.seed=1"]).fingerprint()
    assert a.fingerprint(exclude={"output_dir"}) == a.with_overrides(["output_dir=/x"]).fingerprint(
        exclude={"output_dir"}
    )


@pytest.mark.parametrize("word", ["None", "none", "null", "~", ""])
def test_none_null_and_tilde_mean_null_in_overrides(word):
    from codistill.teacher import TeacherConfig

    cfg = TeacherConfig().with_overrides(["output_dir=runs/x"]).with_overrides([f"output_dir={word}"])
    assert cfg.output_dir is None


def test_yaml_errors_are_one_line_with_the_position(tmp_path):
    from codistill.errors import ConfigError
    from codistill.teacher import TeacherConfig

    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  epochs: [1,\n")
    with pytest.raises(ConfigError) as info:
        TeacherConfig.from_yaml(path)
    assert "line 3" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="is a directory"):
        TeacherConfig.from_yaml(tmp_path)


SHIPPED_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_their_overrides_apply(path):
    """Every file in configs/ parses, and a sweep's teacher and student overrides name real fields
    (a typo there would otherwise surface only after a teacher fine-tune)."""
    if path.name.startswith("sweep-"):
        cfg = SweepConfig.from_yaml(path)
        assert cfg.tasks and cfg.ks and cfg.seeds
        for task in cfg.tasks:
            TeacherConfig().with_overrides(task.teacher_overrides)
        DistillConfig(teacher="t").with_overrides(cfg.distill_overrides)
    else:
        assert DistillConfig.from_yaml(path).data.task


def test_a_list_override_that_is_not_yaml_says_how_to_quote_it():
    bad = "distill_overrides=[student.kind=pooled, student.contrastive={}]"
    with pytest.raises(ConfigError) as err:
        SweepConfig().with_overrides([bad])
    assert "distill_overrides" in str(err.value) and "quote" in str(err.value)
    good = "distill_overrides=['student.kind=pooled', 'student.contrastive={}']"
    assert SweepConfig().with_overrides([good]).distill_overrides == ["student.kind=pooled", "student.contrastive={}"]
