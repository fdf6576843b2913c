"""The peer methods a sweep can run, and the run-key fields each maps to."""

from __future__ import annotations

from typing import Literal, get_args

#: ``setfit``: SetFit on the KD arm's k texts (gold labels); ``setfit+cod``: on the KD+CoD arm's
#: training set (originals + teacher-verified counterfactuals, teacher labels)
PeerMethod = Literal["setfit", "setfit+cod"]
PEER_METHODS: tuple[str, ...] = get_args(PeerMethod)
#: RunKey.recipe of the peer arms (RunKey.method then reads setfit / setfit+cod)
PEER_RECIPE = "setfit"


def peer_arm(method: PeerMethod) -> tuple[str, bool]:
    """(run-key recipe, cod) of a peer method."""
    return PEER_RECIPE, method.endswith("+cod")


def is_peer_recipe(recipe: str) -> bool:
    return recipe == PEER_RECIPE
