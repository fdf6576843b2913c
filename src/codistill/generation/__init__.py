"""Token-level knowledge distillation of causal LMs on instruction data (TRL-style config + trainer).

``TokenKDConfig`` + :func:`distill_generation`: forward KL, reverse KL or generalised JSD per
response token, with temperature, over the shared vocabulary, optionally on-policy (the student
generates a fraction ``lambda_on_policy`` of the training sequences, as in GKD). Evaluation
reports exact-match accuracy against references *and* teacher-student agreement of the answers:
the fidelity-vs-generalisation view.
"""

from codistill.generation.config import InstructionDataConfig, TokenKDConfig

__all__ = ["InstructionDataConfig", "TokenKDConfig"]
