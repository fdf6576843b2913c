"""Worker processes that never outlive their parent, and pools that stop at once on Ctrl-C.

A process-pool worker holds a model (~750 MB); if the parent dies (SIGTERM, kill -9, a closed
terminal) it must exit too. On Linux the kernel delivers SIGTERM to it when the parent dies
(``prctl(PR_SET_PDEATHSIG)``); everywhere, a watchdog thread exits when the parent pid changes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

PR_SET_PDEATHSIG = 1
#: the signals that stopped this process (SIGINT, SIGTERM), newest last: the command's exit status
STOPPED_BY: list[int] = []


def stop_on_signals() -> Callable[[], None]:
    """SIGTERM stops the command like Ctrl-C (a ``KeyboardInterrupt``, so every ``finally`` and
    atomic write unwinds); both are remembered in :data:`STOPPED_BY`. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    STOPPED_BY.clear()

    def handler(signum, frame):
        STOPPED_BY.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def undo() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo


def interrupted_status() -> int:
    """The conventional exit status of a command stopped by a signal: 128 + its number."""
    return 128 + (STOPPED_BY[-1] if STOPPED_BY else signal.SIGINT)


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Call in a worker: exit when process ``parent_pid`` is gone; Ctrl-C is left to the parent."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool and terminates us
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="codistill-parent-watchdog", daemon=True).start()


def run_in_pool(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    workers: int,
    on_result: Callable[[Any], None],
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
) -> None:
    """``fn(item)`` in ``workers`` spawned processes, ``on_result`` for each result as it arrives.

    On any interruption (Ctrl-C, SIGTERM, an error) the queued items are cancelled and the
    workers terminated at once; results already passed to ``on_result`` are kept.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker (fork after torch has started threads can deadlock)
    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=initializer, initargs=initargs)
    restore = _sigterm_as_interrupt()
    try:
        futures = [pool.submit(fn, item) for item in items]
        for future in as_completed(futures):
            on_result(future.result())
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        restore()


def _sigterm_as_interrupt() -> Callable[[], None]:
    """While the pool runs, SIGTERM stops it like Ctrl-C (workers terminated, results kept)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        STOPPED_BY.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo
