"""The every-method-vs-SetFit table and its place in the report."""

from __future__ import annotations

import math

import numpy as np

from codistill.experiments.peer_table import peer_cells, peer_markdown
from codistill.experiments.records import ResultStore, RunKey, RunRecord


def records() -> list[RunRecord]:
    out = []
    for k in (8, 16):
        for seed in range(5):
            noise = 0.01 * ((seed * 7) % 5)
            out.append(RunRecord(RunKey("sst2", "setfit", False, k, seed), {"accuracy": 0.60 + noise}))
            out.append(RunRecord(RunKey("sst2", "setfit", True, k, seed), {"accuracy": 0.60 + noise + 0.001 * seed}))
            out.append(RunRecord(RunKey("sst2", "kd", False, k, seed), {"accuracy": 0.65 + noise + 0.002 * seed}))
            out.append(RunRecord(RunKey("sst2", "kd", True, k, seed), {"accuracy": 0.55 + noise - 0.003 * seed}))
    out.append(RunRecord(RunKey("sst2", "kd", False, 32, 0), {"accuracy": 0.9}))  # no setfit at k=32: no cell
    return out


def test_gains_are_paired_against_setfit_and_holm_adjusted_over_the_row():
    cells = {(c.method, c.k): c for c in peer_cells(records(), "accuracy")}
    assert {m for m, _ in cells} == {"setfit", "setfit+cod", "kd", "kd+cod"} and {k for _, k in cells} == {8, 16}
    kd, kd_cod, peer = cells[("kd", 8)], cells[("kd+cod", 8)], cells[("setfit", 8)]
    assert math.isclose(kd.gain, 0.05 + 0.004) and kd.n_pairs == 5 and math.isclose(kd.peer_mean, peer.mean)
    assert kd.mark == "*" and kd_cod.mark == "†" and peer.mark == "" and math.isnan(peer.pvalue)
    from codistill.experiments.stats import paired_tests

    raw = paired_tests(
        np.array([0.60 + 0.01 * ((s * 7) % 5) for s in range(5)]),
        np.array([0.65 + 0.01 * ((s * 7) % 5) + 0.002 * s for s in range(5)]),
    )[0]
    assert math.isclose(kd.pvalue, min(1.0, 2 * raw))  # two k cells in the row, same p: Holm doubles it


def test_markdown_lists_setfit_first_with_gains_for_the_others():
    text = peer_markdown(records(), "accuracy")
    rows = [line for line in text.splitlines() if line.startswith("| sst2")]
    assert rows[0].startswith("| sst2 | setfit |") and "(" not in rows[0]
    assert any(r.startswith("| sst2 | kd |") and "(+5.4*)" in r for r in rows)
    assert "k=32" not in text


def test_report_shows_the_peer_table(tmp_path):
    from codistill.experiments.report import write_report

    store = ResultStore(tmp_path / "results.jsonl")
    for r in records():
        store.append(r)
    files = write_report(store.path, tmp_path / "report")
    md, page = files.markdown.read_text(), files.html.read_text()
    assert "## accuracy: every method vs setfit" in md and "| sst2 | setfit |" in md
    assert "every method vs setfit" in page and "class='results peers'" in page


def test_sweep_output_prints_every_method_vs_setfit(tmp_path):
    from codistill.cli.sweep import _finish
    from codistill.experiments.config import SweepConfig, SweepTask
    from codistill.experiments.sweep import SweepResult

    store = ResultStore(tmp_path / "results.jsonl")
    for r in records():
        store.append(r)
    config = SweepConfig(tasks=[SweepTask(task="sst2")], peers=["setfit"], output_dir=str(tmp_path))
    lines: list[str] = []
    _finish(config, SweepResult(store.path, store.load(), 0, len(records()), 1.0, {}, {}), echo=lines.append)
    text = "\n".join(lines)
    assert "every method vs SetFit" in text and "| sst2 | kd | " in text.split("every method vs SetFit")[1]
    lines.clear()
    _finish(
        config.model_copy(update={"peers": []}),
        SweepResult(store.path, store.load(), 0, 0, 1.0, {}, {}),
        echo=lines.append,
    )
    assert "vs SetFit" not in "\n".join(lines)


def test_a_peer_runs_inputs_ignore_the_students_training_but_not_its_texts():
    from codistill.distill.config import DistillConfig
    from codistill.experiments.config import SweepConfig
    from codistill.experiments.peer_runs import attach_peer
    from codistill.experiments.records import run_inputs
    from codistill.experiments.sweep import Job

    sweep = SweepConfig(peers=["setfit"])

    def fp(key: RunKey, **overrides) -> str:
        dc = DistillConfig.from_dict({"teacher": "t", "k": key.k, "seed": key.seed, "recipe": "kd"}).with_overrides(
            overrides
        )
        job = Job(key, dc.to_dict())
        job.inputs = run_inputs(job.config, "teacher-fp", None)
        attach_peer(job, sweep)
        return job.fingerprint

    peer, kd = RunKey("t", "setfit", False, 8, 0), RunKey("t", "kd", False, 8, 0)
    assert fp(peer) == fp(peer, **{"train.learning_rate": 1e-3, "train.max_steps": 7, "student.derive.layers": 3})
    assert fp(kd) != fp(kd, **{"train.learning_rate": 1e-3})  # a distillation run's inputs are untouched
    assert fp(peer) != fp(RunKey("t", "setfit", False, 16, 0)) and fp(peer) != fp(peer, **{"student.path": "minilm-l6"})
    assert fp(peer) != fp(peer, **{"train.seed": 1})
