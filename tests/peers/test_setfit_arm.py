"""The SetFit peer arms on tiny models: the KD arm's texts, the CoD set, determinism, sweeps."""

from __future__ import annotations

import pytest

pytest.importorskip("setfit")

from codistill.distill.config import DistillConfig
from codistill.distill.session import DistillSession
from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.sweep import run_sweep
from codistill.training.setfit_train import SetFitConfig
from tests.experiments.test_sweep import trained_teacher  # noqa: F401  (module fixture)
from tests.peers.setfit_helpers import make_tiny_sentence_encoder

FAST = SetFitConfig(num_iterations=2, batch_size=8)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return str(make_tiny_sentence_encoder(tmp_path_factory.mktemp("st-encoder")))


def distill_config(sentiment_dir, teacher, student, **kw) -> DistillConfig:
    return DistillConfig.from_dict(
        {
            # the trained teacher's validation carve (40 texts), shared with the students
            "data": {"task": "local", "data_dir": str(sentiment_dir), "validation_size": 40},
            "teacher": teacher,
            "k": 8,
            "seed": 1,
            "save_model": False,
            "student": {"derive": {"source": student, "layers": 1}},
            "train": {"max_steps": 2, "batch_size": 4},
            **kw,
        }
    )


def test_setfit_trains_on_the_kd_arms_texts_and_is_deterministic(sentiment_dir, trained_teacher, tiny_models, encoder):  # noqa: F811
    from codistill.distill import distill
    from codistill.peers import run_setfit

    session = DistillSession()
    config = distill_config(sentiment_dir, trained_teacher, str(tiny_models("bert", num_layers=2, hidden=16)))
    kd = distill(config, session=session)
    setfit = FAST.model_copy(update={"encoder": encoder})
    first = run_setfit(config, setfit, session=session)
    assert first.metrics["train_set"]["ids"] == kd.metrics["train_set"]["ids"]  # the very same k texts
    assert first.metrics["train_texts"] == 8 and first.metrics["method"] == "setfit"
    for split in ("validation", "test"):
        scores = first.metrics[split]
        assert 0.0 <= scores["accuracy"] <= 1.0 and 0.0 <= scores["agreement"] <= 1.0 and "macro_f1" in scores
    again = run_setfit(config, setfit, session=session)
    assert again.metrics["test"] == first.metrics["test"]
    texts = ["the film was good", "awful and boring"]
    assert (again.model.predict_proba(texts) == first.model.predict_proba(texts)).all()
    other = run_setfit(config.model_copy(update={"seed": 2}), setfit, session=session)
    assert other.metrics["train_set"]["ids"] != first.metrics["train_set"]["ids"]


def test_setfit_cod_trains_on_the_cod_set_with_teacher_labels(
    sentiment_dir,
    trained_teacher,  # noqa: F811  (the module fixture imported above)
    tiny_models,
    encoder,
    tmp_path,
    monkeypatch,
):
    import codistill.peers.setfit_arm as arm
    from codistill.distill.trainset import build_train_set

    seen = {}
    real_fit = arm.fit_setfit

    def spy(encoder_path, texts, labels, *args, **kwargs):
        seen["texts"], seen["labels"] = list(texts), list(labels)
        return real_fit(encoder_path, texts, labels, *args, **kwargs)

    monkeypatch.setattr(arm, "fit_setfit", spy)
    session = DistillSession()
    cf_file = make_counterfactuals(sentiment_dir, trained_teacher, tmp_path)
    config = distill_config(
        sentiment_dir,
        trained_teacher,
        str(tiny_models("bert", num_layers=2, hidden=16)),
        cod=True,
        counterfactuals=cf_file,
    )
    result = arm.run_setfit(config, FAST.model_copy(update={"encoder": encoder}), session=session)
    data = session.data(config.data)
    signals = session.teacher(trained_teacher, None, True, 2)
    expected = build_train_set(config, data, signals, session.counterfactuals(cf_file))
    assert seen["texts"] == expected.texts and seen["labels"] == expected.labels
    assert result.metrics["method"] == "setfit+cod" and result.metrics["train_set"]["counterfactuals"] > 0
    cfs = [i for i in expected.items if i.is_counterfactual]
    assert cfs and [i.label for i in cfs] == signals.predictions([i.text for i in cfs]).tolist()  # the teacher's labels


def make_counterfactuals(sentiment_dir, teacher, tmp_path) -> str:
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import run_counterfactuals

    cf = CounterfactualConfig.from_dict(
        {
            "data": {"task": "local", "data_dir": str(sentiment_dir), "validation_size": 40},
            "k": 8,
            "seed": 1,
            "teacher": teacher,
            "output_dir": str(tmp_path / "cf"),
            "report_similarity": False,
            "progress": False,
        }
    )
    result = run_counterfactuals(cf, echo=lambda *_: None)
    return str(result.output_dir / "counterfactuals.jsonl")


def test_sweep_runs_the_peer_arms_beside_kd(sentiment_dir, trained_teacher, tiny_models, encoder, tmp_path):  # noqa: F811
    from codistill.experiments.tables import markdown_table

    student = tiny_models("bert", num_layers=2, hidden=16)
    config = SweepConfig(
        tasks=[SweepTask(task="local", data_dir=str(sentiment_dir), teacher=trained_teacher)],
        ks=[4],
        recipes=["kd"],
        cod=[False, True],
        cod_modes=["paper"],  # the k/2 budget these tests count
        seeds=[0],
        peers=["setfit", "setfit+cod"],
        setfit=FAST.model_copy(update={"encoder": encoder}),
        counterfactual_overrides=["report_similarity=false", "progress=false"],
        distill_overrides=[
            f"student.derive.source={student}",
            "student.derive.layers=1",
            "train.max_steps=2",
            "train.batch_size=4",
            "data.validation_size=40",
        ],
        output_dir=str(tmp_path / "sweep"),
    )
    first = run_sweep(config, echo=lambda *_: None)
    methods = {r.key.method: r for r in first.records}
    assert set(methods) == {"kd", "kd+cod", "setfit", "setfit+cod"} and first.ran == 4
    assert methods["setfit"].train_set["originals"] == methods["kd"].train_set["originals"] == 4
    assert methods["setfit+cod"].train_set["counterfactuals"] == methods["kd+cod"].train_set["counterfactuals"]
    assert "accuracy" in methods["setfit"].metrics and "accuracy" in methods["setfit"].validation
    assert methods["setfit"].config["setfit"]["encoder"] == encoder
    table = markdown_table(first.records, "accuracy")
    assert "setfit → +CoD" in table
    again = run_sweep(config, echo=lambda *_: None)
    assert again.ran == 0 and again.skipped == 4
    changed = config.model_copy(update={"setfit": FAST.model_copy(update={"encoder": encoder, "num_iterations": 3})})
    with pytest.raises(Exception, match="setfit"):
        run_sweep(changed, echo=lambda *_: None)


def test_a_cpu_fit_does_not_warn_about_pinned_memory(encoder):
    # setfit's contrastive DataLoader asks for pinned memory; on CPU torch warns once per fit,
    # and in a sweep those lines land between the progress bars
    import warnings

    import torch

    from codistill.training.setfit_train import fit_setfit

    if torch.cuda.is_available():
        pytest.skip("pinned memory is real on a GPU: nothing to silence")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_setfit(encoder, ["good", "great fun", "bad", "dull"], [1, 1, 0, 0], FAST, seed=0)
    assert not [w for w in caught if "pin_memory" in str(w.message)]
