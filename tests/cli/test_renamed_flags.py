"""One meaning per flag: --llm (generator LLM), --data-source (the task's source), --explainer
(who explains), --from (what derive-student takes layers from). Each old spelling is a hidden
alias that still works and says, in one stderr line, which flag replaced it."""

from __future__ import annotations

import pytest
import yaml

from codistill.cli import main


class Stop(Exception):
    """Raised by a stand-in stage once it has the config the command built."""


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


@pytest.fixture
def captured(monkeypatch):
    """Stand-ins for the stages behind counterfactuals, explain and derive-student: they keep what
    the command passed and stop it (re-raised as a bug: exit 1, so the config is all that ran)."""
    seen: dict = {}

    def keep(name):
        def stage(*args, **kwargs):
            seen[name] = args
            raise Stop

        return stage

    import codistill.counterfactuals.pipeline as pipeline
    import codistill.explanations.generate as generate
    import codistill.models as models

    monkeypatch.setattr(pipeline, "run_counterfactuals", keep("counterfactuals"))
    monkeypatch.setattr(generate, "generate_explanations", keep("explain"))
    monkeypatch.setattr(models, "derive_student", keep("derive"))
    return seen


@pytest.mark.parametrize("command", ["teacher"])
def test_data_source_sets_the_tasks_source_and_source_still_works(capsys, command):
    code, out, err = run(capsys, command, "--print-config", "--data-source", "full_stars")
    assert code == 0 and yaml.safe_load(out)["data"]["source"] == "full_stars" and not _warnings(err)
    code, out, err = run(capsys, command, "--print-config", "--source", "full_stars")
    assert code == 0 and yaml.safe_load(out)["data"]["source"] == "full_stars"
    assert _warnings(err) == ["warning: --source is deprecated; use --data-source"]


def test_data_show_takes_data_source(capsys):
    code, out, err = run(capsys, "data", "show", "--data-source", "packaged", "-n", "0")
    assert code == 0 and "(packaged" in out and not _warnings(err)
    code, out, err = run(capsys, "data", "show", "--source", "packaged", "-n", "0")
    assert code == 0 and "(packaged" in out
    assert _warnings(err) == ["warning: --source is deprecated; use --data-source"]


@pytest.mark.parametrize("flag", ["--llm", "--model"])
def test_llm_names_the_generators_model(capsys, captured, flag):
    code, _, err = run(
        capsys, "counterfactuals", "--teacher", "t", "--generator", "hf-chat", flag, "smollm2-135m-instruct"
    )
    assert code == 1 and captured["counterfactuals"][0].hf_chat.model == "smollm2-135m-instruct"
    assert _warnings(err) == ([] if flag == "--llm" else ["warning: --model is deprecated; use --llm"])
    code, _, err = run(capsys, "counterfactuals", "--teacher", "t", "--generator", "openai", flag, "gpt-4o-mini")
    assert code == 1 and captured["counterfactuals"][0].openai.model == "gpt-4o-mini"


@pytest.mark.parametrize("flag", ["--explainer", "--source"])
def test_explainer_chooses_who_explains(capsys, captured, flag):
    code, _, err = run(capsys, "explain", "--teacher", "t", flag, "hf-chat", "--llm", "smollm2-135m-instruct")
    cfg = captured["explain"][0]
    assert code == 1 and cfg.source == "hf-chat" and cfg.hf_chat.model == "smollm2-135m-instruct"
    assert _warnings(err) == ([] if flag == "--explainer" else ["warning: --source is deprecated; use --explainer"])


@pytest.mark.parametrize("flag", ["--from", "--source"])
def test_derive_student_takes_layers_from(capsys, captured, tmp_path, flag):
    code, _, err = run(capsys, "models", "derive-student", flag, "mpnet-base", "-o", tmp_path / "s")
    assert code == 1 and captured["derive"][:1] == ("mpnet-base",) and captured["derive"][2] == str(tmp_path / "s")
    assert _warnings(err) == ([] if flag == "--from" else ["warning: --source is deprecated; use --from"])


@pytest.mark.parametrize(
    "args, both",
    [
        (["teacher", "--print-config", "--data-source", "hub", "--source", "hub"], "--data-source"),
        (["counterfactuals", "--teacher", "t", "--llm", "a", "--model", "b"], "--llm"),
        (["explain", "--teacher", "t", "--explainer", "openai", "--source", "openai"], "--explainer"),
        (["models", "derive-student", "--from", "minilm-l6", "--source", "minilm-l6"], "--from"),
    ],
)
def test_old_and_new_spelling_together_is_one_line_exit_2(capsys, captured, args, both):
    code, _, err = run(capsys, *args)
    assert code == 2 and err.strip().splitlines()[-1].endswith(f"give {both} only")


@pytest.mark.parametrize(
    "command, old",
    [
        (["teacher"], "--source"),
        (["data", "show"], "--source"),
        (["data", "sample"], "--output "),
        (["counterfactuals"], "--model"),
        (["counterfactuals-report"], "--output "),
        (["evaluate"], "--output "),
        (["explain"], "--source"),
        (["models", "derive-student"], "--source"),
        (["export"], "--output "),
    ],
)
def test_old_spellings_are_hidden_from_help(capsys, command, old):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and old not in out.replace("\n", " ") + " "


def test_sweep_and_demo_default_to_distills_cod_mode(capsys):
    from codistill.cli.sweep import demo_config
    from codistill.distill.budget_modes import DEFAULT_COD_MODE

    code, out, _ = run(capsys, "sweep", "--print-config")
    assert code == 0 and yaml.safe_load(out)["cod_modes"] == [DEFAULT_COD_MODE] == ["full"]
    assert demo_config().cod_modes == [DEFAULT_COD_MODE]  # docs/results.md, "The demo"
