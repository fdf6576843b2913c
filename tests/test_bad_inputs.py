"""The bad-input corpus: every way a user can get a command wrong ends in exit 2 and one clear
line (no traceback, no half-written output), fast (issue 14). Inputs are tiny and made here."""

from __future__ import annotations

import json
import shutil

import pytest

from codistill.cli import main
from tests.conftest import synthetic_sentiment, write_jsonl

KEY = "sk-proj-CORPUSsecret0123456789abcd"


@pytest.fixture(scope="module")
def world(tiny_models, tmp_path_factory):
    """Data, models and traps in one folder (the commands run with it as the working directory)."""
    root = tmp_path_factory.mktemp("bad-inputs")
    write_jsonl(root / "data" / "train.jsonl", synthetic_sentiment(80, seed=1))
    write_jsonl(root / "data" / "test.jsonl", synthetic_sentiment(20, seed=2))
    (root / "latin").mkdir()
    (root / "latin" / "train.jsonl").write_bytes(b'{"text": "good", "label": 1}\n{"text": "caf\xe9", "label": 0}\n')
    shutil.copy(root / "data" / "test.jsonl", root / "latin" / "test.jsonl")
    (root / "badjson").mkdir()
    (root / "badjson" / "train.jsonl").write_text('{"text": "ok", "label": 1}\n{"text": oops}\n')
    shutil.copy(root / "data" / "test.jsonl", root / "badjson" / "test.jsonl")
    (root / "ragged").mkdir()
    (root / "ragged" / "train.csv").write_text("text,label\ngood film,1\nbad,film,0\n")
    (root / "ragged" / "test.csv").write_text("text,label\ngood film,1\n")
    (root / "bom").mkdir()
    rows = "text,label\n" + "".join(f"{r['text']},{r['label']}\n" for r in synthetic_sentiment(40, seed=3))
    (root / "bom" / "train.csv").write_text(rows, encoding="utf-8-sig")
    (root / "bom" / "test.csv").write_text(rows[:200].rsplit("\n", 1)[0] + "\n", encoding="utf-8-sig")
    (root / "empty").mkdir()
    (root / "empty" / "train.jsonl").write_text("")
    (root / "empty" / "test.jsonl").write_text("")
    teacher = root / "teacher"
    shutil.copytree(tiny_models("bert"), teacher)
    three = root / "three-labels"
    from codistill.testing import make_tiny_model

    make_tiny_model("bert", three, num_labels=3)
    truncated = root / "truncated"
    shutil.copytree(teacher, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    foreign = root / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    (root / "plain.txt").write_text("a file")
    (root / "bad.yaml").write_text("train:\n  epochs: [1,\n")
    (root / "list.yaml").write_text("- a\n- b\n")
    (root / "unknown.yaml").write_text("nonsense_key: 1\n")
    (root / "cfgdir").mkdir()
    (root / "results.jsonl").write_text("")
    (root / "models").mkdir()
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (root / "ed.cfg").write_text("nonsense_key: 1\n")  # a config file whose name does not end in .yaml
    (root / "same").mkdir()  # train equal to test: nothing left to train on
    shutil.copy(root / "data" / "test.jsonl", root / "same" / "train.jsonl")
    shutil.copy(root / "data" / "test.jsonl", root / "same" / "test.jsonl")
    (root / "conflicts").mkdir()  # every training text has both labels
    write_jsonl(
        root / "conflicts" / "train.jsonl", [{"text": f"text {i}", "label": lab} for i in range(5) for lab in (0, 1)]
    )
    shutil.copy(root / "data" / "test.jsonl", root / "conflicts" / "test.jsonl")
    write_jsonl(
        root / "cf.jsonl",
        [
            {
                "original_id": "a",
                "counterfactual_text": "bad",
                "counterfactual_label": 0,
                "original_text": "good",
                "original_label": 1,
                "teacher_label_original": 1,
            }
        ],
    )
    return root


D = ["--task", "local", "--data-dir", "data"]
CASES = [
    # data
    (["data", "show", "--task", "nope"], "unknown task 'nope'"),
    (["data", "sample", "-k", "7", *D], "even"),
    (["data", "sample", "-k", "abc"], "Invalid value for '--k'"),
    (["data", "sample"], "give --k (a total budget) or --k-per-class"),
    (["no-such-command"], "No such command"),
    (["data", "show", "--task", "local", "--data-dir", "missing"], "not found"),
    (["data", "show", "--task", "local", "--data-dir", "latin"], "train.jsonl:2: not valid UTF-8"),
    (["data", "show", "--task", "local", "--data-dir", "badjson"], "train.jsonl:2: malformed JSON"),
    (["data", "show", "--task", "local", "--data-dir", "ragged"], "train.csv:3: expected 2 fields"),
    (["data", "show", "--task", "local", "--data-dir", "bom", "--label-column", "lab"], "lab"),
    (["data", "show", "--task", "local", "--data-dir", "empty"], "empty"),
    (["data", "sample", "-k", "8", *D, "-o", "plain.txt"], "is a file, not a directory"),
    (["data", "sample", "-k", "8", *D, "-o", "mine"], "is not a codistill run"),
    (["evaluate", "--student", "teacher", "--teacher", "teacher", "-o", "plain.txt"], "is a file, not a directory"),
    (["counterfactuals-report", "missing.jsonl", "-o", "plain.txt"], "is a file, not a directory"),
    (["counterfactuals-report", "missing.jsonl", "-o", "r.json"], "takes a directory"),
    # configs and overrides
    (["teacher", "--set", "train.lr=1", "--print-config"], "unknown key 'lr'"),
    (["teacher", "--set", "train.epochs=abc", "--print-config"], "train.epochs"),
    (["teacher", "--set", "nodot", "--print-config"], "key=value"),
    (["teacher", "--config", "cfgdir", "--print-config"], "is a directory"),
    (["teacher", "--config", "bad.yaml", "--print-config"], "invalid YAML at line 3"),
    (["teacher", "--config", "missing.yaml"], "config file not found"),
    (["teacher", "--config", "list.yaml"], "expected a mapping"),
    (["teacher", "--config", "unknown.yaml"], "nonsense_key"),
    (["teacher", "--config", "binary.yaml"], "not UTF-8"),
    (["sweep", "--set", "output_dir=None"], "output_dir"),
    (["sweep", "--set", "ks=[3]"], "even"),
    (["sweep", "--workers", "0"], "workers"),
    # models
    (["teacher", "--model", "no-such-model", *D], "unknown model 'no-such-model'"),
    (["teacher", "--model", "models/nope", *D], "model path not found"),
    (["teacher", "--model", "./nope", *D], "model path not found"),
    (["teacher", "--model", "data", *D], "not a model directory"),
    (["teacher", "--model", "truncated", *D], "truncated or damaged"),
    (["teacher", "--model", "three-labels", *D], "has 3 labels, the task has 2"),
    (["distill", "--teacher", "three-labels", *D, "-k", "4"], "teacher three-labels has 3 labels, the task has 2"),
    (["distill", "--teacher", "truncated", *D, "-k", "4"], "truncated or damaged"),
    (["distill", "--teacher", "nosuch", *D, "-k", "4"], "unknown model 'nosuch'"),
    (
        ["distill", "--teacher", "teacher", "--student", "three-labels", *D, "-k", "4"],
        "student three-labels has 3 labels",
    ),
    (["evaluate", "--student", "MISSING"], "unknown model 'MISSING'"),
    (["evaluate", "--student", "models/student"], "model path not found"),
    (["evaluate", "--student", "teacher"], "--teacher is required"),
    (["models", "derive-student", "--layers", "x"], "--layers must be"),
    (["models", "derive-student", "--from", "nosuch"], "unknown model 'nosuch'"),
    # outputs
    (["teacher", "--model", "teacher", *D, "-o", "mine"], "is not a codistill run"),
    (["teacher", "--model", "teacher", *D, "-o", "plain.txt"], "is a file"),
    (["teacher", "--model", "teacher", *D, "-o", "/sys/codistill-test"], "not writable"),
    (["distill", "--teacher", "teacher", "-o", "mine"], "is not a codistill run"),
    (["counterfactuals", "--teacher", "teacher", "-o", "plain.txt"], "is a file"),
    (["counterfactuals", "--teacher", "teacher", "-o", "mine"], "is not a codistill run"),
    (["sweep", "-o", "plain.txt"], "is a file"),
    (["report", "results.jsonl", "-o", "mine"], "is not a codistill run"),
    (["models", "derive-student", "-o", "mine"], "is not a codistill run"),
    # commands' own inputs
    (["distill"], "no teacher"),
    (["distill", "--teacher", "teacher", "--recipe", "nope"], "recipe"),
    (["counterfactuals"], "no teacher"),
    (["counterfactuals", "--generator", "nope", "--teacher", "teacher"], "generator"),
    (
        ["counterfactuals", "--generator", "openai", "--teacher", "teacher", "--set", f"openai.api_key_env={KEY}"],
        "looks like an API key",
    ),
    (
        [
            "counterfactuals",
            "--generator",
            "openai",
            "--llm",
            "gpt-5",
            "--max-budget",
            "1",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--teacher",
            "teacher",
            *D,
            "-k",
            "4",
            "-o",
            "cf-out",
        ],
        "no known price for model 'gpt-5'",
    ),
    (["counterfactuals-report", "missing.jsonl"], "counterfactual file not found"),
    (["report", "missing.jsonl"], "results file not found"),
    (["report", "cfgdir"], "results file not found"),
    (["report", "results.jsonl", "-o", "report-out"], "no result records"),
    # seeds, counts and label names out of range
    (["data", "sample", "-k", "4", *D, "--seed", "-1"], "seed must be an integer from 0 to 4294967295, not -1"),
    (["data", "sample", "-k", "4", *D, "--seed", "1180591620717411303424"], "seed must be an integer from 0"),
    (["distill", "--teacher", "teacher", *D, "-k", "4", "--seed", "-1"], "seed must be an integer from 0"),
    (["teacher", "--seed", "1180591620717411303424", "--print-config"], "seed must be an integer from 0"),
    (["models", "derive-student", "--seed", "-1"], "seed must be an integer from 0"),
    (["sweep", "--set", "seeds=[0, -1]"], "seeds must be an integer from 0"),
    (["report", "results.jsonl", "--sample", "-5"], "--sample"),
    (["data", "show", *D, "--examples", "-1"], "--examples"),
    (["counterfactuals-report", "cf.jsonl", "--labels", "good"], "--labels 'good' must name every label"),
    # files that are not what they seem
    (["explain-distill", "--config", "ed.cfg"], "nonsense_key"),
    (["data", "sample", "-k", "4", *D, "-o", "/dev/stdout"], "is a file, not a directory"),
    (["evaluate", "--student", "teacher", "--teacher", "teacher", "-o", "/dev/stdout"], "is a file, not a directory"),
    (
        ["counterfactuals", "--generator", "openai", "--base-url", "not a url", "--teacher", "teacher", *D],
        "must be an http(s) URL",
    ),
    (["data", "show", "--task", "local", "--data-dir", "same"], "dropped 20 rows whose text is in the test split"),
    (
        ["data", "show", "--task", "local", "--data-dir", "conflicts"],
        "dropped 10 rows whose text has conflicting labels",
    ),
]


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2(world, monkeypatch, capsys, args, message):
    monkeypatch.chdir(world)
    before = sorted(p.name for p in world.iterdir())
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert message in err, err
    assert KEY not in err and "\ufeff" not in err
    assert sorted(p.name for p in world.iterdir()) == before  # nothing created, nothing left behind
    assert (world / "mine" / "notes.txt").read_text() == "mine" and (world / "plain.txt").read_text() == "a file"


def test_csv_with_a_byte_order_mark_loads(world, monkeypatch, capsys):
    monkeypatch.chdir(world)
    assert main(["data", "show", "--task", "local", "--data-dir", "bom", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["pool"]["size"] > 0


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError(
            'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'
        ),
        OSError(28, "No space left on device"),
    ],
)
def test_a_full_disk_is_one_line_exit_2(monkeypatch, capsys, error):
    from codistill.cli import data as data_cli

    def fail(*args, **kwargs):
        try:
            raise error
        except Exception as exc:
            raise RuntimeError("could not save") from exc  # libraries wrap the OSError

    monkeypatch.setattr(data_cli, "_load", fail)
    code = main(["data", "show"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == ["error: No space left on device"], err
