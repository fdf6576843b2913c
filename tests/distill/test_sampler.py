import pytest

from codistill.distill.sampler import PairBatchSampler
from codistill.errors import ConfigError


def make_groups():
    # 10 originals, 7 of them with a counterfactual (indices 10..16), interleaved oddly
    groups = [[i, 10 + i] for i in range(7)] + [[7], [8], [9]]
    return groups


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("batch_size", [2, 3, 4, 8])
def test_pairs_share_a_batch_and_every_example_appears_once(seed, batch_size):
    groups = make_groups()
    sampler = PairBatchSampler(groups, batch_size, seed=seed)
    owner = {i: gi for gi, g in enumerate(groups) for i in g}
    for epoch in range(4):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler.batches(epoch))
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(17))
        for b in batches:
            assert len(b) <= batch_size
            for i in b:  # the whole group of every member is in this batch
                assert set(groups[owner[i]]) <= set(b)


def test_order_is_seeded_and_changes_between_epochs():
    a, b = PairBatchSampler(make_groups(), 4, seed=5), PairBatchSampler(make_groups(), 4, seed=5)
    assert [list(a) for _ in range(3)] == [list(b) for _ in range(3)]
    c = PairBatchSampler(make_groups(), 4, seed=5)
    c.set_epoch(0)
    e0 = list(c)
    c.set_epoch(1)
    e1 = list(c)
    assert e0 != e1
    assert list(PairBatchSampler(make_groups(), 4, seed=6)) != e0


def test_group_larger_than_batch_is_rejected():
    with pytest.raises(ConfigError):
        PairBatchSampler([[0, 1, 2]], 2)


@pytest.mark.parametrize("world_size", [2, 3])
@pytest.mark.parametrize("batch_size", [2, 3, 4])
def test_ranks_take_whole_batches_of_one_epoch_list_in_equal_numbers(world_size, batch_size):
    groups = make_groups()
    owner = {i: gi for gi, g in enumerate(groups) for i in g}
    single = PairBatchSampler(groups, batch_size, seed=3)
    ranks = [PairBatchSampler(groups, batch_size, seed=3, rank=r, world_size=world_size) for r in range(world_size)]
    for epoch in range(3):
        for s in (single, *ranks):
            s.set_epoch(epoch)
        lengths = [len(s) for s in ranks]
        whole = list(single)
        per_rank = [list(s) for s in ranks]
        assert [len(b) for b in per_rank] == lengths and len(set(lengths)) == 1  # equal steps on every process
        # step t of the ranks together is batches t*world .. t*world+world-1 of the one-process epoch
        interleaved = [b for step in zip(*per_rank) for b in step]
        assert interleaved[: len(whole)] == whole
        assert all(
            b in whole[: len(interleaved) - len(whole)] for b in interleaved[len(whole) :]
        )  # padding repeats the first batches
        for batches in per_rank:
            for b in batches:
                for i in b:
                    assert set(groups[owner[i]]) <= set(b)


def test_rank_must_be_inside_the_world():
    with pytest.raises(ValueError):
        PairBatchSampler(make_groups(), 4, rank=2, world_size=2)


def test_fixed_number_of_batches_per_epoch():
    groups = [[i, 100 + i] for i in range(5)] + [[50 + i] for i in range(3)]
    plain = PairBatchSampler(groups, 3, seed=1)
    assert len({len(plain.batches(e)) for e in range(8)}) > 1  # passes differ in length ...
    sampler = PairBatchSampler(groups, 3, seed=1, num_batches=23)
    owner = {i: gi for gi, g in enumerate(groups) for i in g}
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 23  # ... the stream does not
        for b in batches:
            assert len(b) <= 3 and all(set(groups[owner[i]]) <= set(b) for i in b)
    first = [i for b in PairBatchSampler(groups, 3, seed=1, num_batches=23).batches(0) for i in b]
    assert sorted(first[:13]) == sorted(i for g in groups for i in g)  # a whole pass before any repeat
