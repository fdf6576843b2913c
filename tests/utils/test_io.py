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


def test_stale_temporaries_of_dead_processes_are_cleaned_and_nothing_else(tmp_path):
    dead, host = _dead_pid(), io._HOST
    stale = tmp_path / f".codistill-tmp.teacher.h{host}-p{dead}.abcd1234.tmp"
    stale.mkdir()
    (stale / io.OWNER_MARKER).write_text('{"kind": "teacher"}')
    (stale / "model.safetensors").write_bytes(b"0" * 100)
    old = tmp_path / f".codistill-old.teacher.h{host}-p{dead}"
    old.mkdir()
    (old / io.OWNER_MARKER).write_text('{"kind": "teacher"}')
    stale_file = tmp_path / f".codistill-tmp.metrics.json.h{host}-p{dead}.x1y2z3.tmp"
    stale_file.write_text("{}")
    live = tmp_path / f".codistill-tmp.other.h{host}-p{os.getpid()}.abcd1234.tmp"  # a running process: kept
    live.mkdir()
    (live / io.OWNER_MARKER).write_text('{"kind": "teacher"}')
    unmarked = tmp_path / f".codistill-tmp.mine.h{host}-p{dead}.abcd1234.tmp"  # our name, no marker inside: kept
    unmarked.mkdir()
    users = [
        tmp_path / ".bashrc.old-1",
        tmp_path / ".notes.abcdefgh.tmp",
        tmp_path / ".cache.old-2",
        tmp_path / f".teacher.h{host}-p{dead}.abcd1234.tmp",
    ]  # generic patterns are never ours
    users[0].write_text("alias x=y")
    users[1].write_text("notes")
    for d in users[2:]:
        d.mkdir()
        (d / "data").write_text("keep")
    for p in [*users, unmarked]:
        os.utime(p, (0, 0))  # abandoned long ago: still not ours
    with io.atomic_directory(tmp_path / "teacher", "teacher") as tmp:
        (tmp / "x").write_text("1")
    assert not stale.exists() and not old.exists() and not stale_file.exists()
    assert live.exists() and unmarked.exists() and all(p.exists() for p in users)
    assert users[0].read_text() == "alias x=y" and (users[2] / "data").read_text() == "keep"


def test_ownership_is_the_marker_not_file_names(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("metrics.json", "run.json", "results.jsonl", "report.html", "sweep.yaml"):
        (project / name).write_text("{}")
    (project / "thesis.tex").write_text("chapter 1")
    with pytest.raises(ConfigError, match="not a codistill run"):
        with io.atomic_directory(project, "teacher") as tmp:
            (tmp / "model").write_text("w")
    assert (project / "thesis.tex").read_text() == "chapter 1" and len(list(project.iterdir())) == 6


def test_a_marker_of_another_kind_is_refused(tmp_path):
    sweep = io.claim_output_dir(tmp_path / "sweep", "sweep")
    (sweep / "results.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(ConfigError, match=r"\(kind sweep, not distill\)"):
        with io.atomic_directory(sweep, "distill") as tmp:
            (tmp / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"not student\)"):
        io.check_output_dir(sweep, kind="student")
    assert (sweep / "results.jsonl").read_text() == '{"id": 1}\n'
    io.check_output_dir(sweep, kind="sweep")  # the same kind is fine


def test_a_rerun_writes_into_the_folder_and_keeps_what_it_did_not_write(tmp_path):
    out = tmp_path / "teacher"
    with io.atomic_directory(out, "teacher") as tmp:
        (tmp / "model.safetensors").write_text("v1")
        (tmp / "adapter").mkdir()
    (out / "MY_NOTES.txt").write_text("mine")
    with io.atomic_directory(out, "teacher") as tmp:
        (tmp / "model.safetensors").write_text("v2")
    assert (out / "MY_NOTES.txt").read_text() == "mine" and (out / "model.safetensors").read_text() == "v2"
    assert not (out / "adapter").exists()  # the earlier run's own entry, not written again: removed
    assert io.read_marker(out)["files"] == ["model.safetensors"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    (out / "config.json").write_text("my own config")  # a user's entry under a name codistill writes: kept aside
    with io.atomic_directory(out, "teacher") as tmp:
        (tmp / "model.safetensors").write_text("v3")
        (tmp / "config.json").write_text("{}")
    assert (out / "config.json.kept").read_text() == "my own config" and (out / "config.json").read_text() == "{}"
    assert (out / "MY_NOTES.txt").read_text() == "mine"


def test_named_files_are_replaced_only_when_provably_ours(tmp_path):
    user = tmp_path / "sample.jsonl"
    user.write_text('{"id": "1", "text": "t", "label": 0, "label_name": "neg"}\n')  # looks like ours
    with pytest.raises(ConfigError, match="not written by codistill"):
        io.check_output_file(user, "data-sample")
    ours = io.write_owned_file(tmp_path / "eval.json", io.json_text({"student": "s", "split": "test"}), "evaluate")
    io.check_output_file(ours, "evaluate")
    with pytest.raises(ConfigError, match="not written by codistill"):
        io.check_output_file(ours, "data-sample")  # another command's file
    ours.write_text('{"student": "s", "split": "test", "my": "edit"}')
    with pytest.raises(ConfigError, match="not written by codistill"):
        io.check_output_file(ours, "evaluate")  # edited since: no longer provably ours
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for special in (fifo, "/dev/stdout", "/dev/null"):
        with pytest.raises(ConfigError, match="not a regular file"):
            io.check_output_file(special, "evaluate")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        io.check_output_dir("/dev/null")


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
