import pytest

from codistill.data import DataConfig, load_task, sample
from codistill.errors import BudgetError


@pytest.fixture
def data(sentiment_dir):
    return load_task(DataConfig(task="local", data_dir=str(sentiment_dir), validation_size=40))


@pytest.mark.parametrize("k", [2, 4, 8, 16, 32])
def test_class_balanced(data, k):
    labels = [e.label for e in sample(data, k, seed=3).examples]
    assert len(labels) == k and labels.count(0) == labels.count(1) == k // 2


def test_nested_across_k_and_cod(data):
    for seed in range(3):
        sets = {k: sample(data, k, seed).ids for k in (4, 8, 16, 32)}
        assert sets[4] == sets[8][:4] and sets[8] == sets[16][:8] and sets[16] == sets[32][:16]
        for k in (4, 8, 16, 32):
            cod = sample(data, k, seed, cod=True)
            assert cod.ids == sets[k][: k // 2] and cod.cod


def test_cod_half_is_balanced_when_k_divisible_by_four(data):
    labels = [e.label for e in sample(data, 16, 0, cod=True).examples]
    assert labels.count(0) == labels.count(1) == 4


def test_seeded_and_seed_dependent(data):
    assert sample(data, 16, 5).ids == sample(data, 16, 5).ids
    assert sample(data, 16, 5).ids != sample(data, 16, 6).ids


def test_disjoint_from_validation_and_test(data):
    held_out = {e.text for e in data.validation + data.test}
    for seed in range(5):
        assert not {e.text for e in sample(data, 32, seed).examples} & held_out


@pytest.mark.parametrize(
    "k, message", [(3, "even"), (1, "at least 2"), (0, "at least 2"), (-4, "at least 2"), (10_000, "per class")]
)
def test_bad_budgets(data, k, message):
    with pytest.raises(BudgetError, match=message):
        sample(data, k, 0)


def test_non_integer_budget(data):
    with pytest.raises(BudgetError, match="integer"):
        sample(data, 8.0, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [2, 6, 10])
def test_cod_budget_with_an_odd_half_is_rejected(k):
    from codistill.data.sampling import check_cod_budget

    with pytest.raises(BudgetError, match=f"k={k} with CoD keeps k/2={k // 2} originals"):
        check_cod_budget(k, 2)
    check_cod_budget(k + 2, 2)  # k divisible by 4 is fine
