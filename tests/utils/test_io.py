"""Safe outputs: ownership, stale temporaries of dead processes, modes that follow the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from codistill.errors import ConfigError
from codistill.utils import io


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_foreign_folder_and_plain_file_are_refused_and_untouched(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a codistill run"):
        with io.atomic_directory(foreign) as tmp:
            (tmp / "x").write_text("new")
    assert (foreign / "notes.txt").read_text() == "keep me" and [p.name for p in foreign.iterdir()] == ["notes.txt"]
    plain = tmp_path / "file"
    plain.write_text("data")
    with pytest.raises(ConfigError, match="is a file"):
        io.claim_output_dir(plain, "x")
    assert plain.read_text() == "data"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_own_output_is_replaced_and_empty_folder_accepted(tmp_path):
    out = tmp_path / "out"
    out.mkdir()  # an empty folder the user made for it
    with io.atomic_directory(out, "teacher") as tmp:
        (tmp / "a").write_text("1")
    assert (out / io.OWNER_MARKER).is_file()
    with io.atomic_directory(out, "teacher") as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [io.OWNER_MARKER, "b"]


def test_stale_temporaries_of_dead_processes_are_cleaned(tmp_path):
    dead, host = _dead_pid(), io._HOST
    stale = tmp_path / f".teacher.h{host}-p{dead}.abcd1234.tmp"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"0" * 100)
    old = tmp_path / f".teacher.old-h{host}-p{dead}"
    old.mkdir()
    live = tmp_path / f".other.h{host}-p{os.getpid()}.abcd1234.tmp"  # a running process: kept
    live.mkdir()
    legacy = tmp_path / ".teacher.k3j_x9q2.tmp"  # an older codistill's, abandoned long ago
    legacy.mkdir()
    os.utime(legacy, (0, 0))
    recent_legacy = tmp_path / ".other.abcdefgh.tmp"
    recent_legacy.mkdir()
    with io.atomic_directory(tmp_path / "teacher", "teacher") as tmp:
        (tmp / "x").write_text("1")
    assert not stale.exists() and not old.exists() and not legacy.exists()
    assert live.exists() and recent_legacy.exists()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_modes_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        f = io.atomic_write_json(tmp_path / "metrics.json", {"a": 1})
        with io.atomic_directory(tmp_path / "model", "teacher") as tmp:
            (tmp / "sub").mkdir(mode=0o700)
            fd = os.open(tmp / "model.safetensors", os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    finally:
        os.umask(previous)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(f) == 0o666 & ~umask
    assert mode(tmp_path / "model") == 0o777 & ~umask and mode(tmp_path / "model" / "sub") == 0o777 & ~umask
    assert mode(tmp_path / "model" / "model.safetensors") == 0o666 & ~umask
