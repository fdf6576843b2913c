"""Sweeps end to end on tiny models: records, resume after a failure, process pool and Ray."""

import importlib.util
from pathlib import Path

import pytest

from codistill.experiments.config import SweepConfig, SweepTask
from codistill.experiments.records import ResultStore
from codistill.experiments.sweep import run_sweep


@pytest.fixture(scope="module")
def trained_teacher(tiny_models, tmp_path_factory):
    """A tiny teacher fine-tuned on the synthetic sentiment data, so verified flips exist (a
    random teacher sits at p = 0.5 and nothing flips it: a +cod run would have nothing to train on)."""
    from codistill.teacher import TeacherConfig, train_teacher
    from tests.conftest import synthetic_sentiment, write_jsonl

    root = tmp_path_factory.mktemp("sweep-teacher")
    write_jsonl(root / "data" / "train.jsonl", synthetic_sentiment(240, seed=1))
    write_jsonl(root / "data" / "test.jsonl", synthetic_sentiment(60, seed=2))
    cfg = TeacherConfig.from_dict(
        {
            "model": str(tiny_models("bert", head=False)),
            "output_dir": str(root / "teacher"),
            "data": {"task": "local", "data_dir": str(root / "data"), "validation_size": 40},  # the students' carve too
            "train": {"max_steps": 40, "batch_size": 8, "learning_rate": 1e-2, "eval_steps": 10, "logging_steps": 10},
        }
    )
    return str(train_teacher(cfg).path)


@pytest.fixture
def sweep_config(tiny_models, sentiment_dir, tmp_path, trained_teacher):
    teacher = trained_teacher
    student = tiny_models("bert", num_layers=2, hidden=16)
    return SweepConfig(
        tasks=[SweepTask(task="local", data_dir=str(sentiment_dir), teacher=str(teacher))],
        ks=[4, 8],
        recipes=["kd"],
        cod=[False, True],
        cod_modes=["paper"],  # the k/2 budget these tests count
        seeds=[0, 1],
        counterfactual_overrides=["report_similarity=false", "progress=false"],
        distill_overrides=[
            f"student.derive.source={student}",
            "student.derive.layers=1",
            "train.max_steps=2",
            "data.validation_size=40",
            "train.batch_size=4",
            "eval.batch_size=64",
        ],
        output_dir=str(tmp_path / "sweep"),
    )


def test_sweep_writes_one_record_per_run_and_resumes(sweep_config):
    first = run_sweep(sweep_config, echo=lambda *_: None)
    assert first.ran == 8 and first.skipped == 0
    keys = [r.key for r in first.records]
    assert len(set(keys)) == 8
    assert {(k.k, k.cod, k.seed) for k in keys} == {(k, c, s) for k in (4, 8) for c in (False, True) for s in (0, 1)}
    for r in first.records:
        assert 0.0 <= r.metrics["accuracy"] <= 1.0 and "agreement" in r.metrics and r.timings["total"] > 0
        assert r.metrics["kl_teacher_student"] >= 0.0  # every metric the sweep lists reaches the record
        # validation (carved from the pool) is recorded beside test, so choices can be made on it
        assert 0.0 <= r.validation["agreement"] <= 1.0 and "accuracy" in r.validation
        assert r.config["distill"]["cod"] == r.key.cod
    assert set(first.counterfactual_files) == {("local", 0), ("local", 1)}  # once per seed, nested over k
    again = run_sweep(sweep_config, echo=lambda *_: None)
    assert again.ran == 0 and again.skipped == 8 and len(again.records) == 8


def test_a_crash_mid_sweep_loses_and_duplicates_nothing(sweep_config, monkeypatch):
    import codistill.experiments.sweep as sweep_module

    real = sweep_module.run_job
    calls = []

    def crashing(job):
        calls.append(job.key)
        if len(calls) == 4:
            raise KeyboardInterrupt  # what a kill looks like to the loop: nothing more is written
        return real(job)

    monkeypatch.setattr(sweep_module, "run_job", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep_config, echo=lambda *_: None)
    store = ResultStore(f"{sweep_config.output_dir}/results.jsonl")
    assert len(store.load()) == 3
    monkeypatch.setattr(sweep_module, "run_job", real)
    resumed = run_sweep(sweep_config, echo=lambda *_: None)
    assert resumed.ran == 5 and resumed.skipped == 3
    lines = store.path.read_text().splitlines()
    assert len(lines) == 8 and len({r.key for r in store.load()}) == 8


@pytest.mark.slow
def test_process_pool_matches_in_process(sweep_config, tmp_path):
    import torch

    # one thread on both sides: float reductions may differ between thread counts
    threads = torch.get_num_threads()
    try:
        serial = run_sweep(
            sweep_config.with_overrides({"seeds": [0], "ks": [4], "threads_per_worker": 1}), echo=lambda *_: None
        )
    finally:
        torch.set_num_threads(threads)
    parallel = run_sweep(
        sweep_config.with_overrides(
            {"seeds": [0], "ks": [4], "workers": 2, "threads_per_worker": 1, "output_dir": str(tmp_path / "par")}
        ),
        echo=lambda *_: None,
    )
    a = {r.key: r.metrics for r in serial.records}
    b = {r.key: r.metrics for r in parallel.records}
    assert a.keys() == b.keys()
    for key in a:
        assert a[key]["accuracy"] == pytest.approx(b[key]["accuracy"], abs=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray not installed")
def test_ray_backend_local_instance(sweep_config, tmp_path):
    import ray

    cfg = sweep_config.with_overrides(
        {
            "seeds": [0],
            "ks": [4],
            "backend": "ray",
            "workers": 1,
            "threads_per_worker": 1,
            "output_dir": str(tmp_path / "ray"),
        }
    )
    try:
        result = run_sweep(cfg, echo=lambda *_: None)
    finally:
        ray.shutdown()
    assert result.ran == 2 and {r.key.cod for r in result.records} == {False, True}


def test_sweep_runs_report_to_trackers_under_their_keys(sweep_config):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = sweep_config.with_overrides(
        {
            "ks": [4],
            "cod": [False],
            "seeds": [0, 1],
            "distill_overrides": [
                *sweep_config.distill_overrides,
                "train.report_to=tensorboard",
                "train.logging_steps=1",
            ],
        }
    )
    result = run_sweep(cfg, echo=lambda *_: None)
    for record in result.records:
        train = record.config["distill"]["train"]
        assert train["run_name"] == record.key.as_id()
        acc = EventAccumulator(train["logging_dir"])
        acc.Reload()
        assert [e.step for e in acc.Scalars("train/loss")] == [1, 2]
    assert {r.config["distill"]["train"]["logging_dir"] for r in result.records} == {
        f"{cfg.output_dir}/logs/local/kd/k4/s{seed}" for seed in (0, 1)
    }


def test_unbalanced_cod_half_stops_before_any_work(sweep_config, monkeypatch):
    import codistill.experiments.sweep as sweep_module
    from codistill.errors import BudgetError

    monkeypatch.setattr(sweep_module, "prepare_teacher", lambda *a: pytest.fail("teacher prepared"))
    with pytest.raises(BudgetError, match="k=6 with CoD"):
        run_sweep(sweep_config.with_overrides({"ks": [4, 6]}), echo=lambda *_: None)


def test_changed_inputs_are_never_mixed_with_old_records(sweep_config, tiny_models):
    from codistill.errors import ConfigError

    small = sweep_config.with_overrides({"ks": [4], "seeds": [0]})
    first = run_sweep(small, echo=lambda *_: None)
    assert first.ran == 2
    for r in first.records:
        assert r.fingerprint and r.inputs["teacher_fingerprint"]
        assert r.train_set["train_steps"] == 2 and r.train_set["originals"] == (2 if r.key.cod else 4)
        if r.key.cod:
            assert r.inputs["counterfactuals_sha256"] and r.train_set["counterfactuals"] >= 1
            assert set(r.train_set["dropped"]) == {"no_counterfactual", "original_text_differs", "not_flipped"}
    # other distillation settings: the same keys, other inputs -> a one-line error naming them
    with pytest.raises(
        ConfigError, match=r"kd\+?\w*/k4/s0 made with other inputs \(distill\.train\.max_steps differ\)"
    ):
        run_sweep(
            small.with_overrides({"distill_overrides": [*small.distill_overrides, "train.max_steps=3"]}),
            echo=lambda *_: None,
        )
    # another teacher
    other = small.tasks[0].model_copy(update={"teacher": str(tiny_models("bert", num_layers=1))})
    with pytest.raises(ConfigError, match="teacher_fingerprint"):
        run_sweep(small.with_overrides({"tasks": [other.to_dict()], "cod": [False]}), echo=lambda *_: None)
    assert ResultStore(f"{small.output_dir}/results.jsonl").by_key().keys() == {r.key for r in first.records}
    # a grid extended by a seed reruns only the new runs; the old config is kept, not overwritten
    more = run_sweep(small.with_overrides({"seeds": [0, 1]}), echo=lambda *_: None)
    assert more.ran == 2 and more.skipped == 2
    from pathlib import Path

    assert SweepConfig.from_yaml(Path(small.output_dir) / "sweep.1.yaml").seeds == [0]
    assert SweepConfig.from_yaml(Path(small.output_dir) / "sweep.yaml").seeds == [0, 1]


def test_task_contrast_file_reaches_records_and_report(sweep_config, tmp_path):
    from codistill.experiments.report import write_report

    contrast = tmp_path / "contrast.jsonl"
    contrast.write_text(
        '{"original": "a great and lovely film", "counterfactual": "a dull and awful film", "label": 1, "counterfactual_label": 0}\n'
        '{"original": "boring mess", "counterfactual": "charming gem", "label": 0, "counterfactual_label": 1}\n'
    )
    sweep_config.tasks[0].contrast = str(contrast)
    sweep_config.ks, sweep_config.seeds = [4], [0]
    result = run_sweep(sweep_config, echo=lambda *_: None)
    assert result.ran == 2
    for r in result.records:
        assert {"contrast_accuracy_original", "contrast_accuracy_counterfactual", "contrast_consistency"} <= set(
            r.metrics
        )
    files = write_report(result.results_path, tmp_path / "rep")
    md = files.markdown.read_text()
    assert "## contrast_consistency" in md and "| local | kd → +CoD |" in md.split("## contrast_consistency")[1]
    assert "data-metric='contrast_consistency'" in files.html.read_text()


def test_budget_modes_are_methods_of_a_sweep(sweep_config):
    sweep_config.ks, sweep_config.seeds = [4], [0]
    sweep_config.cod_modes, sweep_config.cod_m = ["paper", "full", "multi"], 2
    result = run_sweep(sweep_config, echo=lambda *_: None)
    by_method = {r.key.method: r for r in result.records}
    assert set(by_method) == {"kd", "kd+cod", "kd+cod-full", "kd+cod-multi2"}
    sizes = {m: r.config["distill"] for m, r in by_method.items()}
    assert sizes["kd+cod-full"]["cod_mode"] == "full" and sizes["kd+cod-multi2"]["cod_mode"] == "multi"
    assert {("local", 0), ("local/full", 0), ("local/multi2", 0)} == set(result.counterfactual_files)
    # counterfactuals for the k/2 originals of the paper budget, for all k originals otherwise
    originals = {m: by_method[m].counterfactuals["originals"] for m in ("kd+cod", "kd+cod-full", "kd+cod-multi2")}
    assert originals == {"kd+cod": 2, "kd+cod-full": 4, "kd+cod-multi2": 4}
    import yaml

    multi_cfg = yaml.safe_load(
        (Path(result.counterfactual_files[("local/multi2", 0)]).parent / "config.yaml").read_text()
    )
    assert multi_cfg["per_original"] == 2


def test_resume_refuses_records_made_from_other_data_and_checks_before_regenerating(
    sweep_config, tmp_path, monkeypatch
):
    """Every label in data_dir flipped: the old records are not reused, and the refusal comes
    before any counterfactual file is rewritten."""
    import json
    import shutil

    import codistill.experiments.sweep as sweep_module
    from codistill.errors import ConfigError

    data = tmp_path / "data"
    shutil.copytree(sweep_config.tasks[0].data_dir, data)
    small = sweep_config.with_overrides({"ks": [4], "seeds": [0]})
    small.tasks[0].data_dir = str(data)
    first = run_sweep(small, echo=lambda *_: None)
    assert first.ran == 2 and all(r.inputs["data_fingerprint"] and r.inputs["codistill_version"] for r in first.records)
    for path in data.glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        path.write_text("".join(json.dumps({**row, "label": 1 - row["label"]}) + "\n" for row in rows))
    monkeypatch.setattr(sweep_module, "_SESSION", None)  # a new process: nothing cached in memory
    monkeypatch.setattr(
        sweep_module, "prepare_counterfactuals", lambda *a, **k: pytest.fail("counterfactuals regenerated")
    )
    with pytest.raises(ConfigError, match="data_fingerprint"):
        run_sweep(small, echo=lambda *_: None)


def test_two_entries_of_one_task_name_are_refused(sweep_config):
    from codistill.errors import ConfigError

    with pytest.raises(ConfigError, match="listed more than once"):
        sweep_config.with_overrides(
            {"tasks": [sweep_config.tasks[0].to_dict(), {**sweep_config.tasks[0].to_dict(), "data_dir": "elsewhere"}]}
        )


def test_without_max_steps_every_arm_of_a_k_takes_the_baselines_step_budget(sweep_config):
    """train.max_steps null: KD and KD+CoD train on sets of different size, yet take one step
    budget (the baseline's k originals x epochs), recorded in the run config."""
    cfg = sweep_config.with_overrides(
        {
            "ks": [8],
            "seeds": [0],
            "distill_overrides": [
                *[o for o in sweep_config.distill_overrides if not o.startswith("train.max_steps")],
                "train.max_steps=null",
                "train.epochs=3",
            ],
        }
    )
    result = run_sweep(cfg, echo=lambda *_: None)
    assert result.ran == 2
    steps = {r.key.cod: (r.train_set["train_steps"], r.config["distill"]["train"]["max_steps"]) for r in result.records}
    assert steps[False] == steps[True] == (6, 6)  # 8 originals / batch 4 = 2 steps per epoch, x 3 epochs


def test_a_teacher_whose_training_pool_holds_student_validation_texts_is_refused(
    sweep_config, trained_teacher, monkeypatch
):
    """One carve per task: students carving another validation split than the teacher's would
    validate on texts the teacher trained on; a carve override for the teacher alone is an error."""
    import codistill.experiments.sweep as sweep_module
    from codistill.errors import ConfigError

    monkeypatch.setattr(sweep_module, "prepare_counterfactuals", lambda *a, **k: pytest.fail("counterfactuals made"))
    other_carve = sweep_config.with_overrides(
        {"distill_overrides": [*sweep_config.distill_overrides, "data.validation_size=30"]}
    )
    with pytest.raises(ConfigError, match="data.validation_size=40 but the students with data.validation_size=30"):
        run_sweep(other_carve, echo=lambda *_: None)
    with pytest.raises(ConfigError, match="change the validation carve"):
        sweep_config.with_overrides({"tasks": [{"task": "local", "teacher_overrides": ["data.validation_size=300"]}]})


def test_a_pool_takes_the_long_peer_fits_first_and_students_in_grid_order():
    from codistill.experiments.records import RunKey
    from codistill.experiments.run_config import Job
    from codistill.experiments.sweep import longest_first

    def job(recipe, cod, k, seed, peer=False):
        return Job(RunKey("t", recipe, cod, k, seed, "full"), {}, peer={"encoder": "e"} if peer else None)

    grid = [
        job("kd", False, 8, 0),
        job("kd", True, 8, 0),
        job("kd", False, 16, 0),
        job("setfit", False, 8, 0, peer=True),
        job("setfit", False, 16, 0, peer=True),
        job("setfit", True, 8, 1, peer=True),  # setfit+cod: 8 texts and their counterfactuals
        job("setfit", False, 32, 1, peer=True),
    ]
    order = [(j.key.recipe, j.key.cod, j.key.k, j.key.seed) for j in longest_first(grid)]
    assert order == [
        ("setfit", False, 32, 1),
        ("setfit", False, 16, 0),
        ("setfit", True, 8, 1),  # ties keep the grid order
        ("setfit", False, 8, 0),
        ("kd", False, 8, 0),
        ("kd", True, 8, 0),
        ("kd", False, 16, 0),
    ]
