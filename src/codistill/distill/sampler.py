"""Pair-aware batching: an original and its counterfactual(s) always share a mini-batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from codistill.errors import ConfigError


class PairBatchSampler(Sampler[list[int]]):
    """Yields batches of dataset indices built from whole groups.

    ``groups`` partitions the dataset (an original with its counterfactuals, or a single
    example). Each epoch the group order is shuffled with ``(seed, epoch)`` and groups are
    packed in that order into batches of at most ``batch_size`` examples, a group never being
    split; inside a batch the examples are shuffled too. The trainer calls :meth:`set_epoch`;
    iterating without it advances the epoch by itself.

    Groups of different sizes pack into a different number of batches per pass, and the HF
    Trainer fixes an epoch's length from the first one, so a fixed step budget would end short
    or skip batches. With ``num_batches`` set, one epoch is a stream of exactly that many
    batches: consecutive passes over the groups (each freshly shuffled), cut at ``num_batches``.

    With several processes (``world_size`` > 1) every process builds the same epoch list and
    takes whole batches ``rank, rank + world_size, ...`` of it (see :meth:`rank_batches`), so a
    group never leaves its process and every process takes the same number of steps; one
    optimisation step then covers ``world_size`` consecutive batches, exactly as gradient
    accumulation over ``world_size`` batches does in one process.
    """

    def __init__(
        self,
        groups: Sequence[Sequence[int]],
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        num_batches: int | None = None,
        *,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside a world of {world_size}")
        self.groups = [list(g) for g in groups if len(g)]
        self.batch_size, self.seed, self.shuffle, self.num_batches = batch_size, seed, shuffle, num_batches
        self.rank, self.world_size = rank, world_size
        if num_batches is not None and num_batches < 1:
            raise ValueError("num_batches must be >= 1")
        largest = max((len(g) for g in self.groups), default=0)
        if largest > batch_size:
            raise ConfigError(
                f"batch size {batch_size} cannot hold a group of {largest} (an original and its counterfactuals)"
            )
        seen = [i for g in self.groups for i in g]
        if len(seen) != len(set(seen)):
            raise ValueError("groups overlap")
        self.epoch = 0
        self._cache: dict[int, list[list[int]]] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def batches(self, epoch: int) -> list[list[int]]:
        if epoch not in self._cache:
            if self.num_batches is None:
                batches = self._pack(epoch)
            else:
                batches, passes = [], 0
                while len(batches) < self.num_batches and self.groups:
                    batches += self._pack(epoch * 1_000_003 + passes)
                    passes += 1
                batches = batches[: self.num_batches]
            self._cache = {epoch: batches}
        return self._cache[epoch]

    def _pack(self, pass_id: int) -> list[list[int]]:
        """One pass over every group: shuffled with ``(seed, pass_id)``, packed greedily."""
        rng = np.random.default_rng([self.seed, pass_id, 104729])
        order = rng.permutation(len(self.groups)) if self.shuffle else np.arange(len(self.groups))
        batches: list[list[int]] = []
        current: list[int] = []
        for gi in order:
            group = self.groups[gi]
            if len(current) + len(group) > self.batch_size:
                batches.append(current)
                current = []
            current = current + group
        if current:
            batches.append(current)
        if self.shuffle:
            batches = [rng.permutation(b).tolist() for b in batches]
        return batches

    def rank_batches(self, epoch: int) -> list[list[int]]:
        """This process's batches of ``epoch``. The epoch's list is first padded, like
        ``DistributedSampler`` pads, by repeating its first batches until its length is a
        multiple of ``world_size``."""
        batches = self.batches(epoch)
        if self.world_size == 1 or not batches:
            return batches
        missing = -len(batches) % self.world_size
        padded = batches + [batches[i % len(batches)] for i in range(missing)]
        return padded[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        epoch = self.epoch
        yield from self.rank_batches(epoch)
        if self.epoch == epoch:
            self.epoch += 1

    def __len__(self) -> int:
        return len(self.rank_batches(self.epoch))
