"""Safe file and directory output.

* Atomic: every file and directory is written under a temporary name and renamed into place, so
  an interrupted run never leaves half-written results.
* Owned: a directory codistill writes carries an ownership marker (:data:`OWNER_MARKER`) naming
  the kind of output (``teacher``, ``distill``, ``sweep``, ...) and the entries codistill wrote
  into it. Only a marker decides ownership (never the names of the files inside); an existing
  directory without one, or with a marker of another kind, is refused (:func:`check_output_dir`).
  A file named by the user (``-o FILE``) is replaced only if a sidecar marker proves codistill
  wrote exactly its current content (:func:`check_output_file`).
* Written into, not replaced: a rerun into an existing output replaces only the entries codistill
  wrote there; anything else in the folder stays (:func:`atomic_directory`).
* Self-cleaning: temporaries carry a codistill prefix, the host and the pid that made them (a
  temporary folder also holds a marker); only those of dead processes on this host are removed,
  the next time anything is written next to them. Nothing is removed by a generic name pattern.
* Modes follow the user's umask (``mkstemp``/``mkdtemp`` would make them 0600 / 0700).
* Redacted: every text file goes through :func:`codistill.utils.secrets.redact` on its way to
  disk (configs, records, reports), so no key is stored whichever writer made the text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codistill.errors import ConfigError

#: file in every output directory codistill creates: ``{"kind", "codistill", "files"}``
OWNER_MARKER = ".codistill"
#: prefixes of every temporary codistill makes (nothing else is ever cleaned)
TEMP_PREFIX, OLD_PREFIX = ".codistill-tmp.", ".codistill-old."
#: marker kinds written by earlier versions, and the kinds they stand for now
LEGACY_KINDS = {"output": ("explain-distill", "dataset")}

_HOST = f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFF:06x}"
_TEMP = re.compile(r"^\.codistill-(?:tmp|old)\..+\.h([0-9a-f]{6})-p(\d+)(?:\.[^.]*\.tmp)?$")
_log = logging.getLogger(__name__)
#: outputs committed by this process (shown when a command is interrupted)
COMMITTED: list[Path] = []


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
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o777 & ~mask)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & 0o100
                os.chmod(path, (0o777 if executable else 0o666) & ~mask)


# -- temporaries ------------------------------------------------------------------------------
def _temp_name(path: Path, prefix: str = TEMP_PREFIX) -> str:
    return f"{prefix}{path.name}.h{_HOST}-p{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(entry: os.DirEntry) -> bool:
    """A temporary this codistill provably made (prefix, host, pid; a folder also holds the
    marker) whose process is gone."""
    match = _TEMP.match(entry.name)
    if not match or match.group(1) != _HOST or _alive(int(match.group(2))):
        return False
    if entry.is_dir(follow_symlinks=False):
        return os.path.isfile(os.path.join(entry.path, OWNER_MARKER))
    return entry.is_file(follow_symlinks=False)


def clean_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries that dead codistill processes on this host left in ``directory``."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(".codistill-") and _is_stale(entry):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(path)
    return removed


# -- ownership --------------------------------------------------------------------------------
def read_marker(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ownership marker of directory ``path`` (None: not codistill's)."""
    try:
        marker = json.loads((Path(path) / OWNER_MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("kind"), str) else None


def is_codistill_output(path: str | os.PathLike, kind: str | None = None) -> bool:
    marker = read_marker(path) if Path(path).is_dir() else None
    return marker is not None and (kind is None or _same_kind(marker["kind"], kind))


def _same_kind(found: str, wanted: str) -> bool:
    return found == wanted or wanted in LEGACY_KINDS.get(found, ())


def check_output_dir(path: str | os.PathLike, what: str = "output directory", kind: str | None = None) -> Path:
    """Refuse (one-line :class:`ConfigError`) an output directory codistill must not write:
    an existing file or special file, a non-empty folder without codistill's marker, a folder
    of another kind of output (``kind``), or a place it cannot write."""
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ConfigError(f"{what} {path} exists and is a file, not a directory; choose another path")
        marker = read_marker(path)
        if marker is None and any(path.iterdir()):
            raise ConfigError(
                f"{what} {path} exists and is not a codistill run; choose another path (nothing was changed)"
            )
        if marker is not None and kind is not None and not _same_kind(marker["kind"], kind):
            raise ConfigError(
                f"{what} {path} holds another codistill output (kind {marker['kind']}, not {kind}); choose another path (nothing was changed)"
            )
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
        fd, probe = tempfile.mkstemp(prefix=_temp_name(Path("probe")) + ".", suffix=".tmp", dir=directory)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def write_marker(directory: str | os.PathLike, kind: str, files: Iterable[str] = ()) -> None:
    from codistill import __version__

    marker = {"kind": kind, "codistill": __version__, "files": sorted(set(files) - {OWNER_MARKER})}
    atomic_write_text(Path(directory) / OWNER_MARKER, json.dumps(marker) + "\n", clean=False)


def claim_output_dir(path: str | os.PathLike, kind: str, what: str = "output directory") -> Path:
    """Check ``path`` (see :func:`check_output_dir`), create it and mark it as codistill's."""
    path = check_output_dir(path, what, kind)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    if read_marker(path) is None:
        write_marker(path, kind)
    clean_stale_temporaries(path)
    if path not in COMMITTED:
        COMMITTED.append(path)
    return path


def release_if_unused(path: str | os.PathLike) -> None:
    """Undo :func:`claim_output_dir` for a folder that still holds nothing but the marker."""
    path = Path(path)
    with contextlib.suppress(OSError):
        if os.listdir(path) == [OWNER_MARKER]:
            (path / OWNER_MARKER).unlink()
            path.rmdir()


# -- files named by the user ------------------------------------------------------------------
def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.codistill")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output_file(path: str | os.PathLike, kind: str, *, what: str = "output file") -> Path:
    """Refuse to overwrite a file codistill did not write: an existing ``path`` is replaced only
    if its sidecar marker (written by :func:`write_owned_file`) names ``kind`` and the file's
    exact current content. Special files (``/dev/stdout``, a pipe) and folders are refused."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a directory; give a file name")
    if path.exists() or path.is_symlink():
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = 0
        if not stat.S_ISREG(mode) or path.is_symlink():
            raise ConfigError(f"{what} {path} is not a regular file (a device, pipe or link); give a new file name")
        try:
            marker = json.loads(_sidecar(path).read_text(encoding="utf-8"))
            owned = marker.get("kind") == kind and marker.get("sha256") == _sha256(path)
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            owned = False
        if not owned:
            raise ConfigError(
                f"{what} {path} exists and was not written by codistill; choose another path (nothing was changed)"
            )
    _check_creatable(path, what)
    return path


def write_owned_file(path: str | os.PathLike, text: str, kind: str) -> Path:
    """Write ``text`` to ``path`` atomically, with the sidecar marker that proves it is ours."""
    path = atomic_write_text(path, text)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    atomic_write_text(_sidecar(path), json.dumps({"kind": kind, "sha256": sha}) + "\n", clean=False)
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
    fd, tmp = tempfile.mkstemp(prefix=_temp_name(path) + ".", suffix=".tmp", dir=path.parent)
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


def json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json_text(obj))


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    return atomic_write_text(path, jsonl_text(rows))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, kind: str = "output", *, check: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling directory whose contents go into ``path`` only if the block succeeds.

    ``path`` must be absent, empty or an earlier codistill output of the same ``kind``
    (``check=False`` skips that for a sub-directory of an output codistill already owns). When
    ``path`` holds only what codistill wrote, the new directory replaces it in one rename;
    otherwise the new entries are moved into it one by one, and only the entries an earlier run
    wrote are removed: nothing codistill did not write vanishes.
    """
    path = Path(path).expanduser()
    if check:
        check_output_dir(path, kind=kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_name(path) + ".", suffix=".tmp", dir=path.parent))
    try:
        write_marker(tmp, kind)  # a temporary that is provably ours, for the cleaner
        yield tmp
        write_marker(tmp, kind, os.listdir(tmp))
        _normalise_tree(tmp)
        _commit(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    COMMITTED.append(path)


def _commit(tmp: Path, path: Path) -> None:
    """Put the finished ``tmp`` at ``path`` (see :func:`atomic_directory`)."""
    if not path.exists():
        os.replace(tmp, path)
        return
    existing = set(os.listdir(path)) - {OWNER_MARKER}
    if not existing:
        os.rmdir(path)
        os.replace(tmp, path)
        return
    marker, kind = read_marker(path) or {}, (read_marker(tmp) or {}).get("kind", "output")
    ours = set(marker.get("files", ()))
    new = set(os.listdir(tmp)) - {OWNER_MARKER}
    trash = path.with_name(_temp_name(path, OLD_PREFIX))
    if existing <= ours:  # all of it codistill's: one atomic swap
        os.replace(path, trash)
        os.replace(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
        return
    trash.mkdir()
    write_marker(trash, "old")
    kept = []
    for name in sorted(existing & (new | ours)):
        if name in new and name not in ours and "files" in marker:  # a user's entry under one of our names
            target = _free_name(path, f"{name}.kept")
            os.replace(path / name, target)
            kept.append(target.name)
        else:
            os.replace(path / name, trash / name)
    for name in sorted(new):
        os.replace(tmp / name, path / name)
    write_marker(path, kind, new)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if kept:
        _log.warning("kept your %s in %s (codistill writes entries of those names)", ", ".join(kept), path)


def _free_name(directory: Path, name: str) -> Path:
    candidate, n = directory / name, 1
    while candidate.exists() or candidate.is_symlink():
        candidate, n = directory / f"{name}-{n}", n + 1
    return candidate


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
