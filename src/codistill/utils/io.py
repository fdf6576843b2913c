"""Safe file and directory output.

* Atomic: every file and directory is written under a temporary name and renamed into place, so
  an interrupted run never leaves half-written results.
* Owned: a directory codistill writes carries an ownership marker (:data:`OWNER_MARKER`); an
  existing directory without one (or a plain file) is never written into or replaced
  (:func:`check_output_dir` / :func:`claim_output_dir`, used by every command).
* Self-cleaning: temporaries are named after the host and process that made them, and those of
  dead processes are removed the next time anything is written next to them.
* Modes follow the user's umask (``mkstemp``/``mkdtemp`` would make them 0600 / 0700).
* Redacted: every text file goes through :func:`codistill.utils.secrets.redact` on its way to
  disk (configs, records, reports), so no key is stored whichever writer made the text.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codistill.errors import ConfigError

#: file in every output directory codistill creates; only such directories are ever replaced
OWNER_MARKER = ".codistill"
#: files that identify output directories written before the marker existed
LEGACY_MARKERS = ("metrics.json", "run.json", "sweep.yaml", "results.jsonl", "report.html")
#: temporaries of dead processes without a pid in their name are removed after this long
LEGACY_TEMP_AGE_S = 24 * 3600

_HOST = f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFF:06x}"
_TEMP = re.compile(r"^\..+\.h([0-9a-f]{6})-p(\d+)\.[^.]*\.tmp$")
_OLD = re.compile(r"^\..+\.old-h([0-9a-f]{6})-p(\d+)$")
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$|^\..+\.old-\d+$")


# -- modes ------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike, directory: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would have (0666/0777 minus the umask)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _normalise_tree(root: Path) -> None:
    """Files 0666 & ~umask and folders 0777 & ~umask throughout ``root`` (some writers use 0600)."""
    mask = current_umask()
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o777 & ~mask)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & 0o100
                os.chmod(path, (0o777 if executable else 0o666) & ~mask)


# -- temporaries ------------------------------------------------------------------------------
def _temp_prefix(path: Path) -> str:
    return f".{path.name}.h{_HOST}-p{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(entry: os.DirEntry, now: float) -> bool:
    match = _TEMP.match(entry.name) or _OLD.match(entry.name)
    if match:
        return match.group(1) == _HOST and not _alive(int(match.group(2)))
    if not _LEGACY_TEMP.match(entry.name):
        return False
    try:  # written by an older codistill: no pid to check, so only when clearly abandoned
        return now - entry.stat(follow_symlinks=False).st_mtime > LEGACY_TEMP_AGE_S
    except OSError:
        return False


def clean_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporaries that dead processes on this host left in ``directory``."""
    directory = Path(directory)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if entry.name.startswith(".") and _is_stale(entry, now):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(path)
    return removed


# -- ownership --------------------------------------------------------------------------------
def is_codistill_output(path: str | os.PathLike) -> bool:
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in (OWNER_MARKER, *LEGACY_MARKERS))


def check_output_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Refuse (one-line :class:`ConfigError`) an output directory codistill must not write:
    an existing file, a non-empty folder it did not create, or a place it cannot write."""
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ConfigError(f"{what} {path} exists and is a file, not a directory; choose another path")
        if not is_codistill_output(path) and any(path.iterdir()):
            raise ConfigError(f"{what} {path} exists and is not a codistill run; choose another path (nothing was changed)")
    _check_creatable(path, what)
    return path


def _check_creatable(path: Path, what: str) -> None:
    """The nearest existing folder at or above ``path`` is a folder codistill can write in."""
    ancestor = path if path.is_dir() else next((p for p in path.parents if p.exists()), Path("."))
    if not ancestor.is_dir():
        raise ConfigError(f"cannot create {what} {path}: {ancestor} is a file")
    if not _writable(ancestor):
        raise ConfigError(f"cannot write {what} {path}: {ancestor} is not writable")


def _writable(directory: Path) -> bool:
    """Whether a file can be created in ``directory`` (tried for real: root passes every
    permission check yet cannot write to a read-only mount)."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    try:
        fd, probe = tempfile.mkstemp(prefix=f".codistill-probe.h{_HOST}-p{os.getpid()}.", suffix=".tmp", dir=directory)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def check_output_file(path: str | os.PathLike, keys: Iterable[str], *, jsonl: bool = False, what: str = "output file") -> Path:
    """Refuse to overwrite a file codistill did not write: an existing ``path`` is replaced only
    if it is a JSON object (``jsonl``: whose first line is one) holding ``keys``, i.e. an earlier
    output of the same command."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a directory; give a file name")
    if path.exists():
        try:
            with open(path, encoding="utf-8") as handle:
                head = handle.readline() if jsonl else handle.read(1 << 24)
            obj = json.loads(head)
        except (OSError, UnicodeDecodeError, ValueError):
            obj = None
        if not (isinstance(obj, dict) and set(keys) <= set(obj)):
            raise ConfigError(f"{what} {path} exists and was not written by codistill; choose another path (nothing was changed)")
    _check_creatable(path, what)
    return path


def write_marker(directory: str | os.PathLike, kind: str) -> None:
    from codistill import __version__

    atomic_write_text(Path(directory) / OWNER_MARKER, json.dumps({"kind": kind, "codistill": __version__}) + "\n", clean=False)


def claim_output_dir(path: str | os.PathLike, kind: str, what: str = "output directory") -> Path:
    """Check ``path`` (see :func:`check_output_dir`), create it and mark it as codistill's."""
    path = check_output_dir(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    if not (path / OWNER_MARKER).is_file():
        write_marker(path, kind)
    clean_stale_temporaries(path)
    return path


# -- atomic writes ----------------------------------------------------------------------------
def atomic_write_text(path: str | os.PathLike, text: str, *, clean: bool = True) -> Path:
    """Write ``text``, redacted of secrets, to ``path`` through a temporary file and an atomic rename."""
    from codistill.utils.secrets import redact

    text = redact(text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean:
        clean_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, kind: str = "output", *, check: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling directory that replaces ``path`` only if the block succeeds.

    ``path`` must be absent, empty or an earlier codistill output (``check=False`` skips that for
    a sub-directory of an output codistill already owns). An existing ``path`` is kept until the
    new one is complete, then swapped out. The new directory carries the ownership marker.
    """
    path = Path(path).expanduser()
    if check:
        check_output_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        write_marker(tmp, kind)
        _normalise_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-h{_HOST}-p{os.getpid()}")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
