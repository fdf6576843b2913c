"""Real benchmark files from ../shared/data (skipped on machines without them)."""

import pytest

from codistill.data import DataConfig, load_task, sample
from tests.conftest import SHARED_DATA

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (SHARED_DATA / "sst2" / "train.jsonl").is_file(), reason="../shared/data not present"),
]


def test_sst2_loads_with_official_counts():
    data = load_task(DataConfig(task="sst2", data_dir=str(SHARED_DATA / "sst2")))
    assert len(data.test) == 872 and sum(e.label for e in data.test) == 444
    assert len(data.pool) + len(data.validation) == 66_973
    assert data.test[0].text == "it 's a charming and often affecting journey ."
    shots = sample(data, 64, seed=0)
    assert sum(e.label for e in shots.examples) == 32
    assert not {e.text for e in shots.examples} & {e.text for e in data.validation}


def test_cola_reports_mcc_first():
    data = load_task(DataConfig(task="cola", data_dir=str(SHARED_DATA / "cola")))
    assert data.task.primary_metric == "mcc" and len(data.test) == 1036
    assert data.task.label_names[1] == "acceptable"
