"""A teacher and a student of different architectures and tokenizers (MPNet -> MiniLM-style BERT):
logit KD needs nothing (teacher signals are per text), LWD pools hidden states by default."""

import pytest

from codistill.distill import DistillSession, distill
from codistill.distill.losses import ModelShapes, make_loss
from codistill.testing import TINY_WORDS


@pytest.fixture(scope="module")
def mpnet_teacher(tmp_path_factory):
    from codistill.testing import make_tiny_model

    # another architecture, width, depth and vocabulary order: token ids differ from the student's
    return make_tiny_model(
        "mpnet", tmp_path_factory.mktemp("mpnet") / "teacher", num_layers=3, hidden=48, words=TINY_WORDS[::-1]
    )


@pytest.mark.parametrize("recipe", ["kd", "lwd"])
def test_mpnet_teacher_distils_into_a_bert_student(recipe, base_config, mpnet_teacher):
    cfg = base_config.with_overrides({"teacher": str(mpnet_teacher), "recipe": recipe, "save_model": False})
    m = distill(cfg, session=DistillSession()).metrics
    assert m["same_tokenizer"] is False
    assert m["student_source"]["kind"] == "path" and m["student_info"]["model_type"] == "bert"
    assert m["train_steps"] == 6 and 0 <= m["test"]["agreement"] <= 1
    logged = {k for h in m["loss_history"] for k in h if k.startswith("loss_")}
    assert logged == ({"loss_ce", "loss_kd", "loss_hidden"} if recipe == "lwd" else {"loss_ce", "loss_kd"})


@pytest.mark.parametrize("same", [True, False])
def test_auto_pooling_follows_the_tokenizers(same):
    shapes = ModelShapes(
        student_layers=2, student_hidden=16, teacher_layers=3, teacher_hidden=48, num_labels=2, same_tokenizer=same
    )
    for name in ("hidden", "ted"):
        term = make_loss(name)
        term.build(shapes)
        assert term.pooling == ("tokens" if same else "mean")
