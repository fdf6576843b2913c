"""Sweep pool workers never outlive their parent; Ctrl-C stops a pool at once, keeping results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc")

SRC = str(Path(__file__).parents[2] / "src")

PARENT = textwrap.dedent("""
    import os, sys, time
    from codistill.experiments.sweep import _worker_init
    from codistill.utils.processes import run_in_pool

    def on_result(value):
        print("result", value, flush=True)

    import concurrent.futures.process as cfp
    original = cfp.ProcessPoolExecutor.submit
    def submit(self, *a, **k):  # report the worker pids once they exist
        future = original(self, *a, **k)
        print("workers", " ".join(str(p) for p in self._processes), flush=True)
        return future
    cfp.ProcessPoolExecutor.submit = submit
    try:
        run_in_pool(time.sleep, [0, 0, 60, 60, 60, 60], 2, lambda r: print("result", flush=True),
                    initializer=_worker_init, initargs=(1, os.getpid()))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # an unreaped zombie has exited


def _start(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    # a foreground program's Ctrl-C: shells start background jobs (`cmd &`, a CI runner's script)
    # with SIGINT ignored, and an ignored signal stays ignored across exec; reset it for the parent
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: set[int] = set()
    results = 0
    deadline = time.monotonic() + 120
    while results < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("workers"):
            workers.update(int(p) for p in line.split()[1:])
        elif line.startswith("result"):
            results += 1
    assert results == 2 and len(workers) == 2, proc.stderr.read() if proc.poll() is not None else "no results"
    return proc, workers


def _wait_gone(pids, seconds=60):
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    proc, workers = _start(tmp_path)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert _wait_gone(workers) == []
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_pool_and_its_workers(tmp_path, sig):
    proc, workers = _start(tmp_path)
    try:
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "interrupted" in out
        assert _wait_gone(workers) == []
    finally:
        proc.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
