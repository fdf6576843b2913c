"""Caches shared by a sweep's worker processes open safely when the workers start together."""

from __future__ import annotations

import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
import pytest

from codistill.counterfactuals.cache import Cache
from codistill.distill.signals import SignalStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forks worker processes")

ROUNDS = 20
WORKERS = 4


def _open_and_write(kind: str, root: str, worker: int, barrier, errors) -> None:
    for round_ in range(ROUNDS):
        barrier.wait()  # every worker opens the same brand-new file at the same moment
        try:
            if kind == "signals":
                store = SignalStore(Path(root) / f"r{round_}" / "signals.sqlite")
                store.put({f"w{worker}": np.arange(2, dtype=np.float32)}, {})
            else:
                store = Cache(Path(root) / f"r{round_}")
                store.put("meta", f"w{worker}", worker)
            store.close()
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            errors.put(f"round {round_} worker {worker}: {exc!r}")


@pytest.mark.parametrize("kind", ["signals", "counterfactuals"])
def test_workers_opening_a_new_cache_together_never_see_database_is_locked(kind, tmp_path):
    ctx = mp.get_context("fork")
    barrier, errors = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=_open_and_write, args=(kind, str(tmp_path), i, barrier, errors)) for i in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, failures
    assert all(proc.exitcode == 0 for proc in procs)
    # every worker's write landed in every round
    for round_ in range(ROUNDS):
        if kind == "signals":
            store = SignalStore(tmp_path / f"r{round_}" / "signals.sqlite")
            assert len(store.get_logits([f"w{i}" for i in range(WORKERS)])) == WORKERS
        else:
            store = Cache(tmp_path / f"r{round_}")
            assert [store.get("meta", f"w{i}") for i in range(WORKERS)] == list(range(WORKERS))
        store.close()
