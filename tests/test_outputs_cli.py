"""No command ever writes into, or replaces, a folder or file it did not create (issue 14)."""

from __future__ import annotations

import pytest

from codistill.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def foreign(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("my notes")
    (d / "counterfactuals.jsonl").write_text("precious\n")
    return d


def _untouched(d):
    assert (d / "notes.txt").read_text() == "my notes" and (d / "counterfactuals.jsonl").read_text() == "precious\n"
    assert sorted(p.name for p in d.iterdir()) == ["counterfactuals.jsonl", "notes.txt"]
    assert not [p for p in d.parent.iterdir() if p.name.startswith(".")]


def test_teacher_refuses_a_foreign_folder_and_a_plain_file(capsys, tiny_models, sentiment_dir, foreign, tmp_path):
    model = tiny_models("bert", head=False)
    capsys.readouterr()  # building the tiny model prints progress
    common = ["teacher", "--model", model, "--task", "local", "--data-dir", sentiment_dir, "--set", "train.max_steps=1"]
    code, _, err = run(capsys, *common, "-o", foreign)
    assert code == 2 and "is not a codistill run" in err and len(err.strip().splitlines()) == 1
    _untouched(foreign)
    plain = tmp_path / "plain.txt"
    plain.write_text("a file")
    code, _, err = run(capsys, *common, "-o", plain)
    assert code == 2 and "is a file" in err and plain.read_text() == "a file"


def test_counterfactuals_and_distill_refuse_a_foreign_folder(capsys, foreign):
    code, _, err = run(capsys, "counterfactuals", "--teacher", "some-teacher", "-o", foreign)
    assert code == 2 and "is not a codistill run" in err
    code, _, err = run(capsys, "distill", "--teacher", "some-teacher", "-o", foreign)
    assert code == 2 and "is not a codistill run" in err
    _untouched(foreign)


def test_report_and_derive_student_refuse_a_foreign_folder(capsys, foreign, tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("")
    code, _, err = run(capsys, "report", results, "-o", foreign)
    assert code == 2 and "is not a codistill run" in err
    code, _, err = run(capsys, "models", "derive-student", "-o", foreign)
    assert code == 2 and "is not a codistill run" in err
    _untouched(foreign)


def test_sweep_output_file_and_failed_validation_leave_nothing(capsys, tmp_path):
    plain = tmp_path / "results"
    plain.write_text("x")
    code, _, err = run(capsys, "sweep", "-o", plain)
    assert code == 2 and "is a file" in err and plain.read_text() == "x"
    out = tmp_path / "sweep"
    code, _, err = run(
        capsys,
        "sweep",
        "-o",
        out,
        "--set",
        "tasks=[{task: local, data_dir: " + str(tmp_path / "missing") + "}]",
        "--set",
        "ks=[4]",
        "--set",
        "seeds=[0]",
        "--set",
        "recipes=[kd]",
    )
    assert code == 2 and "not found" in err
    assert not (out / "sweep.yaml").exists() and not out.exists()


def test_gitignore_covers_every_default_output_folder():
    from pathlib import Path

    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.pipeline import default_output_dir as cf_default
    from codistill.distill import DistillConfig
    from codistill.distill.run import default_output_dir as distill_default
    from codistill.experiments.config import SweepConfig

    ignore = Path(__file__).parents[1] / ".gitignore"
    if not ignore.is_file():
        pytest.skip("not a source checkout")
    entries = {
        line.strip().strip("/") for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
    }
    defaults = [
        cf_default(CounterfactualConfig()),
        distill_default(DistillConfig(teacher="t")),
        Path(SweepConfig().output_dir),
        Path("runs/demo"),
        Path("report"),
        Path("students/minilm-l6-2l"),
        Path("teachers/x"),
    ]
    assert all(p.parts[0] in entries for p in defaults), [str(p) for p in defaults if p.parts[0] not in entries]
    assert not (Path(__file__).parents[1] / "None").exists()


def test_single_result_outputs_replace_only_their_own_earlier_output(capsys, sentiment_dir, tmp_path):
    target = tmp_path / "shots"
    args = ["data", "sample", "-k", "4", "--task", "local", "--data-dir", sentiment_dir, "-o", target]
    assert run(capsys, *args)[0] == 0
    first = (target / "train.jsonl").read_text()
    assert run(capsys, *args, "--seed", "1")[0] == 0 and (target / "train.jsonl").read_text() != first  # ours
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "train.jsonl").write_text('{"my": "data"}\n')
    code, _, err = run(capsys, *args[:-1], notes)
    assert code == 2 and "is not a codistill run" in err
    assert (notes / "train.jsonl").read_text() == '{"my": "data"}\n'


def _stop_in_load(monkeypatch, stop):
    from codistill.cli import data as data_cli

    monkeypatch.setattr(data_cli, "_load", lambda *a, **k: stop())


def test_ctrl_c_exits_130_with_one_line(capsys, monkeypatch):
    def stop():
        raise KeyboardInterrupt

    _stop_in_load(monkeypatch, stop)
    code, _, err = run(capsys, "data", "sample", "-k", 4)
    assert code == 130
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["interrupted (SIGINT): stopped before any output folder was written"]


def test_sigterm_exits_143_and_says_what_was_kept(capsys, monkeypatch, tmp_path):
    import os
    import signal
    import time

    from codistill.utils import io

    def stop():
        io.claim_output_dir(tmp_path / "sweep", "sweep")  # a finished record stays
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler stops the command here

    def unhandled(signum, frame):  # what a SIGTERM codistill ignores would do, without killing pytest
        raise RuntimeError("SIGTERM not handled")

    _stop_in_load(monkeypatch, stop)
    previous = signal.signal(signal.SIGTERM, unhandled)
    try:
        code, _, err = run(capsys, "data", "sample", "-k", 4)
        assert code == 143 and signal.getsignal(signal.SIGTERM) is unhandled  # the handler is undone
    finally:
        signal.signal(signal.SIGTERM, previous)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted (SIGTERM): kept the finished outputs in ")
    assert str(tmp_path / "sweep") in lines[0]


def test_commands_refuse_a_codistill_folder_of_another_kind(capsys, tmp_path):
    from codistill.utils import io

    teacher = io.claim_output_dir(tmp_path / "teacher", "teacher")
    (teacher / "model.safetensors").write_text("weights")
    sweep = io.claim_output_dir(tmp_path / "sweep", "sweep")
    (sweep / "results.jsonl").write_text('{"id": "r1"}\n')
    code, _, err = run(capsys, "distill", "--teacher", teacher, "-o", teacher)
    assert code == 2 and "(kind teacher, not distill)" in err
    code, _, err = run(capsys, "distill", "--teacher", teacher, "-o", sweep)
    assert code == 2 and "(kind sweep, not distill)" in err
    for target in (sweep, teacher):
        code, _, err = run(capsys, "models", "derive-student", "-o", target)
        assert code == 2 and "not student)" in err
    code, _, err = run(capsys, "explain", "--teacher", teacher, "-o", sweep)
    assert code == 2 and "(kind sweep, not explain)" in err
    assert (teacher / "model.safetensors").read_text() == "weights" and (
        sweep / "results.jsonl"
    ).read_text() == '{"id": "r1"}\n'


def test_explain_refuses_a_non_empty_user_folder(capsys, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: config\n")
    (mine / "run.json").write_text('{"mine": true}')
    code, _, err = run(capsys, "explain", "--teacher", tmp_path / "teacher", "-o", mine)
    assert code == 2 and "is not a codistill run" in err
    assert (mine / "config.yaml").read_text() == "my: config\n" and (mine / "run.json").read_text() == '{"mine": true}'


def test_teacher_force_rerun_keeps_a_users_file_in_its_folder(capsys, tiny_models, sentiment_dir, tmp_path):
    model = tiny_models("bert", head=False)
    capsys.readouterr()
    out = tmp_path / "teacher"
    args = [
        "teacher",
        "--model",
        model,
        "--task",
        "local",
        "--data-dir",
        sentiment_dir,
        "--set",
        "train.max_steps=1",
        "-o",
        out,
    ]
    assert run(capsys, *args)[0] == 0
    (out / "MY_NOTES.txt").write_text("my notes")
    code, _, err = run(capsys, *args, "--force")
    assert code == 0, err
    assert (out / "MY_NOTES.txt").read_text() == "my notes" and (out / "metrics.json").is_file()


def test_folders_that_merely_look_like_ours_are_refused(capsys, sentiment_dir, tmp_path):
    lookalike = tmp_path / "shots"
    lookalike.mkdir()
    (lookalike / "train.jsonl").write_text('{"id": "a", "text": "my text", "label": 1, "label_name": "positive"}\n')
    code, _, err = run(
        capsys, "data", "sample", "-k", 4, "--task", "local", "--data-dir", sentiment_dir, "-o", lookalike
    )
    assert code == 2 and "is not a codistill run" in err
    assert (lookalike / "train.jsonl").read_text().startswith('{"id": "a", "text": "my text"')
    record = tmp_path / "eval"
    record.mkdir()
    (record / "metrics.json").write_text('{"student": "my student", "split": "test", "accuracy": 0.99}')
    code, _, err = run(capsys, "evaluate", "--student", tmp_path / "missing", "-o", record)
    assert code == 2 and "is not a codistill run" in err and "0.99" in (record / "metrics.json").read_text()
    code, _, err = run(
        capsys, "data", "sample", "-k", 4, "--task", "local", "--data-dir", sentiment_dir, "-o", "/dev/stdout"
    )
    assert code == 2 and "is a file, not a directory" in err
