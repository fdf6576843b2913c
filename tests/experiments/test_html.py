from codistill.experiments.html import render_report, word_diff
from codistill.experiments.plots import metric_vs_k
from tests.experiments.test_plots import _records


def test_word_diff_marks_edits_and_escapes():
    left, right = word_diff("a <b>good</b> film", "a <b>bad</b> film")
    assert left == "a <del>&lt;b&gt;good&lt;/b&gt;</del> film"
    assert right == "a <ins>&lt;b&gt;bad&lt;/b&gt;</ins> film"


def test_report_is_self_contained_and_escapes_untrusted_text(tmp_path):
    png = metric_vs_k(_records(), "sst2", "accuracy", tmp_path / "a.png")
    evil = "<script>alert(1)</script>"
    page = render_report(
        _records(),
        title="sweep",
        metrics=["accuracy"],
        figures=[(png, "accuracy vs k")],
        pairs=[
            {
                "original_id": evil,
                "original_text": f"good {evil}",
                "counterfactual_text": f"bad {evil}",
                "counterfactual_label": 0,
                "teacher_probs_original": [0.1, 0.9],
                "teacher_probs_counterfactual": [0.8, 0.2],
            }
        ],
    )
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "data:image/png;base64," in page and "src='http" not in page
    assert page.count("<tr>") == 1 + 1 + 1 + 1  # results header + 1 row, pairs header + 1 row
    assert "<del>good</del>" in page and "<ins>bad</ins>" in page and "0.10 / 0.90" in page


def test_report_command_end_to_end(tmp_path, capsys):
    from codistill.cli import main
    from codistill.counterfactuals import CounterfactualRecord, write_counterfactuals
    from codistill.experiments import ResultStore

    store = ResultStore(tmp_path / "results.jsonl")
    for record in _records():
        if record.key.cod:
            record.counterfactuals = {"validity": 0.9 + 0.01 * record.key.seed, "edited_words": 1.2}
        store.append(record)
    cf = write_counterfactuals(
        tmp_path / "cf.jsonl", [CounterfactualRecord("train-1", "a bad film", 0, original_text="a good film")]
    )
    code = main(["report", str(store.path), "-o", str(tmp_path / "rep"), "--counterfactuals", str(cf)])
    out = capsys.readouterr().out
    assert code == 0 and "| sst2 | kd → +CoD |" in out
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {
        "report.md",
        "report.html",
        "table_accuracy.csv",
        "table_agreement.csv",
        "sst2_accuracy_vs_k.png",
        "fidelity_vs_accuracy.png",
        "counterfactual_quality.png",
    } <= names
    assert "<ins>bad</ins>" in (tmp_path / "rep" / "report.html").read_text()
    assert main(["report", str(tmp_path / "empty.jsonl")]) == 2
