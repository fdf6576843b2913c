"""Students derived from the fine-tuned teacher's own layers (student.derive.source: teacher)."""

import json

import pytest
import torch

from codistill.distill import DistillSession, distill
from codistill.distill.config import StudentConfig
from codistill.distill.student import build_student, resolve_student
from codistill.errors import ConfigError
from codistill.models import load_classifier
from codistill.models.layer_subset import layer_prefix


@pytest.mark.parametrize("arch", ["bert", "deberta-v2", "mpnet"])
@pytest.mark.parametrize("layers", [None, [1, 2]])
def test_teacher_derived_student_is_the_teachers_selected_layers(tiny_models, arch, layers):
    teacher_dir = str(tiny_models(arch, num_layers=4))
    source = resolve_student(StudentConfig(derive={"source": "teacher", "layers": layers}), teacher_dir)
    assert source.kind == "teacher" and not source.fresh_head
    student, tokenizer = build_student(source, 2, ("negative", "positive"))
    teacher = load_classifier(teacher_dir)
    kept = layers or [0, 3]  # every other layer of 4, first and last kept
    assert student.config.num_hidden_layers == 2
    assert student.config.codistill_layer_subset == {"source_layers": 4, "kept": kept}
    src, dst = teacher.state_dict(), student.state_dict()
    prefix = layer_prefix(list(src))
    for key, value in dst.items():
        if key.startswith(prefix + "."):
            new = int(key[len(prefix) + 1 :].split(".")[0])
            key = key.replace(f"{prefix}.{new}.", f"{prefix}.{kept[new]}.", 1)
        assert torch.equal(value, src[key]), key  # bit for bit, head and shared weights included
    head = [k for k in dst if k.startswith("classifier")]
    assert head and all(torch.equal(dst[k], src[k]) for k in head)
    batch = tokenizer(["the film was good", "bad"], padding=True, return_tensors="pt")
    assert student(**batch).logits.shape == (2, 2)


def test_auto_source_follows_the_teacher(tiny_models, tmp_path):
    teacher_dir = str(tiny_models("bert"))
    assert resolve_student(StudentConfig(), teacher_dir).kind == "teacher"
    lora_like = tmp_path / "adapter"
    lora_like.mkdir()
    (lora_like / "adapter_config.json").write_text("{}")
    (lora_like / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    fallback = resolve_student(StudentConfig(), str(lora_like))
    assert (fallback.kind, fallback.name, fallback.layers) == ("pretrained", "minilm-l6", 2) and fallback.fresh_head
    explicit = resolve_student(StudentConfig(derive={"source": "minilm-l6", "layers": [0, 5]}), teacher_dir)
    assert (explicit.kind, explicit.layers) == ("pretrained", (0, 5))
    with pytest.raises(ConfigError, match="sequence classifier"):
        resolve_student(StudentConfig(derive={"source": "teacher"}), str(lora_like))


def test_distill_from_the_teachers_layers_keeps_its_head(base_config, tiny_dir, monkeypatch):
    import codistill.distill.run as run

    monkeypatch.setattr(run, "reinit_head", lambda *a: pytest.fail("a teacher-derived head was re-drawn"))
    cfg = base_config.model_copy(update={"student": StudentConfig(derive={"source": "teacher"})}).with_overrides(
        {"save_model": False}
    )
    m = distill(cfg, session=DistillSession()).metrics
    assert m["student_source"] == {"kind": "teacher", "name": str(tiny_dir / "teacher"), "layers": None}
    assert m["student_info"]["num_layers"] == 2 and m["student_info"]["hidden_size"] == 32
    assert m["train_steps"] == 6


def test_demo_distils_students_derived_from_its_teacher(tiny_models):
    """The demo's student is the one that won on validation agreement: the teacher's own layers."""
    from codistill.cli.sweep import demo_config
    from codistill.distill import DistillConfig

    teacher = str(tiny_models("bert"))
    cfg = DistillConfig(teacher=teacher).with_overrides(demo_config().distill_overrides)
    assert resolve_student(cfg.student, teacher) == resolve_student(
        StudentConfig(derive={"source": "teacher", "layers": 2}), teacher
    )
    assert resolve_student(cfg.student, teacher) != resolve_student(
        StudentConfig(derive={"source": "minilm-l6", "layers": 2}), teacher
    )
