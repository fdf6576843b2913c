"""Teacher-free peers: the methods a student is compared against, run through their own libraries.

``setfit`` fits SetFit (huggingface/setfit) on the k texts the KD arm trains on, with their gold
labels; ``setfit+cod`` on the CoD training set (originals plus teacher-verified counterfactuals
labelled by the teacher), the set the KD+CoD arm trains on. Both are scored by the same code as
a distilled student, so their records sit beside KD and KD+CoD in sweeps and reports.
"""

from __future__ import annotations

from typing import Any

from codistill.peers.methods import PEER_RECIPE, PeerMethod, peer_arm

__all__ = ["PEER_RECIPE", "PeerMethod", "PeerResult", "peer_arm", "run_setfit"]


def __getattr__(name: str) -> Any:  # the arm imports torch and the distill stack: load it on use
    if name in ("PeerResult", "run_setfit"):
        from codistill.peers import setfit_arm

        return getattr(setfit_arm, name)
    raise AttributeError(name)
