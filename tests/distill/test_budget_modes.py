"""CoD budget modes: paper (k/2 originals + 1 counterfactual each), full (k + 1 each), multi (k + m each)."""

from __future__ import annotations

import pytest

from codistill.distill.trainset import build_train_set


@pytest.fixture(scope="module")
def multi_file(tiny_dir, task_data):
    """Two counterfactuals per pool example (all words swapped; the first sentiment word swapped)."""
    from tests.distill.conftest import NEG, POS

    from codistill.counterfactuals import CounterfactualRecord, write_counterfactuals

    swap = dict(zip(POS, NEG)) | dict(zip(NEG, POS))
    records = []
    for e in task_data.pool:
        ws = e.text.split()
        first = next(i for i, w in enumerate(ws) if w in swap)
        variants = [
            " ".join(swap.get(w, w) for w in ws),
            " ".join(swap[w] if i == first else w for i, w in enumerate(ws)),
        ]
        records += [
            CounterfactualRecord(e.id, v, 1 - e.label, original_text=e.text, meta={"rank": r})
            for r, v in enumerate(variants)
        ]
    return write_counterfactuals(tiny_dir / "cf-multi.jsonl", records)


class FakeSignals:
    def predictions(self, texts):
        from tests.distill.conftest import NEG

        return [0 if sum(w in NEG for w in t.split()) >= 2 else 1 for t in texts]


@pytest.mark.parametrize(
    "mode, m, originals, per_original", [("paper", 3, 4, 1), ("full", 3, 8, 1), ("multi", 2, 8, 2), ("multi", 3, 8, 2)]
)
def test_train_set_composition(base_config, multi_file, task_data, mode, m, originals, per_original):
    from codistill.counterfactuals import read_counterfactuals

    cfg = base_config.with_overrides({"cod": True, "counterfactuals": str(multi_file), "cod_mode": mode, "cod_m": m})
    train = build_train_set(cfg, task_data, FakeSignals(), read_counterfactuals(multi_file))
    assert len(train.originals) == originals
    assert train.report["counterfactuals"] == originals * per_original and train.report["cod_mode"] == mode
    assert (
        sorted(len(g) for g in train.groups()) == [1 + per_original] * originals
    )  # each original with its counterfactuals
    paper = build_train_set(base_config.with_overrides({"cod": True}), task_data, FakeSignals(), None)
    assert [e.id for e in train.originals][: len(paper.originals)] == [e.id for e in paper.originals]  # nested
    baseline = build_train_set(base_config, task_data, None, None)
    if mode != "paper":
        assert [e.id for e in train.originals] == [e.id for e in baseline.originals]  # the same k real examples
    suffix = {"paper": "", "full": "-full", "multi": f"-multi{m}"}[mode]
    assert cfg.method == f"kd+cod{suffix}"


def test_multi_end_to_end_and_missing_file_is_an_error(base_config, multi_file):
    from codistill.distill import distill
    from codistill.errors import ConfigError

    cfg = base_config.with_overrides(
        {"cod": True, "counterfactuals": str(multi_file), "cod_mode": "multi", "cod_m": 2, "save_model": False}
    )
    m = distill(cfg).metrics
    assert m["method"] == "kd+cod-multi2" and m["train_set"]["size"] == 8 * 3
    with pytest.raises(ConfigError, match="cod_mode=full needs a counterfactual file"):
        distill(base_config.with_overrides({"cod": True, "cod_mode": "full"}))


def test_modes_are_one_registered_type():
    from codistill.distill.budget_modes import COD_MODES, from_run_key, get_cod_mode
    from codistill.distill.config import DistillConfig
    from codistill.errors import ConfigError

    assert [m.run_key(3) for m in COD_MODES.values()] == ["paper", "full", "multi3"]
    assert [m.suffix(3) for m in COD_MODES.values()] == ["", "-full", "-multi3"]
    assert from_run_key("multi4") == (COD_MODES["multi"], 4) and from_run_key("full")[0] is get_cod_mode("full")
    with pytest.raises(ConfigError, match="unknown cod_mode 'half'"):
        get_cod_mode("half")
    with pytest.raises(ValueError, match="known: paper, full, multi"):
        DistillConfig(cod_mode="half")
