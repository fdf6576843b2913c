"""README's Python quickstart runs as written, with a tiny model in place of the packaged one."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python quickstart") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_quickstart_is_short_and_uses_the_top_level_api():
    code = [line for line in quickstart().splitlines() if line.strip()]
    assert len(code) <= 12 and code[0] == "import codistill"
    assert "codistill.Distiller(" in quickstart() and "codistill.generate_counterfactuals(" in quickstart()


def test_the_quickstart_runs(tiny_models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny = tiny_models("bert", num_layers=2, hidden=32)
    # the tiny teacher needs more steps than a real one to learn six texts
    teacher_options = f'"{tiny}", **{{"train.max_steps": 120, "train.learning_rate": 3e-3, "train.select_best": False}}'
    code = quickstart().replace('"mpnet-base"', teacher_options).replace("print(", "_ = (")
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    result = scope["result"]
    assert result.metrics["k"] == 6 and result.metrics["train_set"]["originals"] == 6
    assert result.metrics["train_set"]["counterfactuals"] >= 1 and result.metrics["method"] == "kd+cod-full"
    assert (tmp_path / "runs" / "quickstart" / "model.safetensors").is_file()
