"""One max_length per teacher: the length it was trained with, for verification and distillation alike."""

import shutil

import numpy as np
import pytest

from codistill.teacher import TeacherConfig
from codistill.teacher.meta import DEFAULT_MAX_LENGTH, teacher_max_length


@pytest.fixture
def short_teacher(tiny_dir, tmp_path):
    """The tiny teacher, saved as if `codistill teacher` had trained it with train.max_length=12."""
    path = tmp_path / "teacher12"
    shutil.copytree(tiny_dir / "teacher", path)
    TeacherConfig.from_dict({"model": "x", "train": {"max_length": 12}}).save(path / "teacher_config.yaml")
    return path


def test_recorded_length_is_used_unless_overridden(short_teacher, tiny_dir):
    assert teacher_max_length(str(short_teacher)) == 12
    assert teacher_max_length(str(short_teacher), 40) == 40
    assert teacher_max_length(str(tiny_dir / "teacher")) == DEFAULT_MAX_LENGTH  # not trained by codistill


def test_verifier_reads_as_many_tokens_as_the_teacher_was_trained_with(short_teacher):
    from codistill.counterfactuals.verify import TeacherVerifier

    head = "the film was good and great really fine"
    a, b = head + " bad awful terrible boring dull", head + " good great fine excellent wonderful"
    verifier = TeacherVerifier(str(short_teacher))
    assert verifier.max_length == 12
    p = verifier.probs([a, b])
    assert np.allclose(p[0], p[1])  # the texts differ only after token 12
    long = TeacherVerifier(str(short_teacher), max_length=128).probs([a, b])
    assert not np.allclose(long[0], long[1])


def test_distillation_signals_use_the_teacher_length(base_config, short_teacher, cf_file):
    from codistill.distill import DistillSession, distill

    cfg = base_config.with_overrides({"teacher": str(short_teacher), "save_model": False, "train.max_steps": 2})
    assert cfg.train.max_length == 128  # the student's own length does not decide the teacher's
    m = distill(cfg, session=DistillSession()).metrics
    assert m["signals"]["max_length"] == 12
