"""CoD budget modes: one registered type owns each mode's name, budget, method suffix and run key.

A mode says how a k-shot budget is spent with counterfactuals: ``paper`` (k/2 originals and one
counterfactual each: a fixed budget of k texts), ``full`` (all k originals, one each) and
``multi`` (all k originals, ``m`` diverse counterfactuals each). Configs, sweeps, run keys and
tables ask this registry instead of comparing strings; a new mode registers here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from codistill.errors import ConfigError


@dataclass(frozen=True)
class CodMode:
    name: str
    half: bool  # sample only k/2 originals (the paper's fixed budget of k texts)
    multi: bool  # m counterfactuals per original instead of one
    description: str

    @property
    def needs_file(self) -> bool:
        """Without a counterfactual file only the paper mode has a meaning (the k/2 `half` control)."""
        return not self.half

    def per_original(self, m: int) -> int:
        return m if self.multi else 1

    def suffix(self, m: int) -> str:
        """How the mode shows in method names: ``kd+cod`` (paper), ``kd+cod-full``, ``kd+cod-multi3``."""
        key = self.run_key(m)
        return "" if self.half else f"-{key}"

    def run_key(self, m: int) -> str:
        """The mode's name in sweep run keys and counterfactual-file names: paper, full, multi<m>."""
        return f"{self.name}{m}" if self.multi else self.name

    def counterfactual_k(self, k: int) -> int:
        """The k-shot draw whose originals need counterfactuals: k/2 of them for paper, all k otherwise
        (``counterfactuals`` generates for the first k/2 of a k draw)."""
        return k if self.half else 2 * k


COD_MODES: dict[str, CodMode] = {}


def register_cod_mode(mode: CodMode) -> CodMode:
    if mode.name in COD_MODES:
        raise ValueError(f"CoD mode {mode.name!r} is already registered")
    COD_MODES[mode.name] = mode
    return mode


PAPER = register_cod_mode(
    CodMode(
        "paper",
        half=True,
        multi=False,
        description="k/2 originals + one counterfactual each (a fixed budget of k texts)",
    )
)
FULL = register_cod_mode(
    CodMode("full", half=False, multi=False, description="all k originals + one counterfactual each")
)
MULTI = register_cod_mode(
    CodMode("multi", half=False, multi=True, description="all k originals + cod_m diverse counterfactuals each")
)
DEFAULT_COD_MODE = FULL.name  # docs/results.md, "Budget modes": paper (k/2 originals) was the weakest of the three


def get_cod_mode(name: str) -> CodMode:
    if name not in COD_MODES:
        raise ConfigError(f"unknown cod_mode {name!r}; known: {', '.join(COD_MODES)}")
    return COD_MODES[name]


def check_cod_mode(name: str) -> str:
    """Pydantic validator body: a ValueError naming the known modes."""
    if name not in COD_MODES:
        raise ValueError(f"unknown cod_mode {name!r}; known: {', '.join(COD_MODES)}")
    return name


def from_run_key(key: str) -> tuple[CodMode, int | None]:
    """``multi3`` -> (multi, 3); ``full`` -> (full, None)."""
    if key in COD_MODES:
        return COD_MODES[key], None
    for mode in COD_MODES.values():
        if mode.multi and key.startswith(mode.name) and key[len(mode.name) :].isdigit():
            return mode, int(key[len(mode.name) :])
    raise ConfigError(f"unknown CoD run-key mode {key!r}")


def describe_modes() -> str:
    return "; ".join(f"{m.name} = {m.description}" for m in COD_MODES.values())
