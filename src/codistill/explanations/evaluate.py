"""Task performance and explainability of an explanation student.

* task: the label is read from the task prefix alone, as a verbalizer (log-probability of each
  label word after the task prompt): accuracy, macro-F1, agreement with the task teacher;
* counterfactuals the student writes (``"old" -> "new" would be label``, applied to the input):
  ``cf_parse_rate`` (well-formed and applicable), ``cf_validity`` (the task teacher's label
  flips), ``cf_self_consistency`` (the student's own label flips), both over all explained inputs;
* rationales: ``rationale_f1`` (token F1 of the evidence with the teacher's rationale's) and
  ``simulatability`` (a fixed reader, the task teacher, scoring the rationale's evidence without
  its label word, predicts the student's label).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codistill.explanations.config import PromptsConfig
from codistill.explanations.render import parse_counterfactual, rationale_evidence, token_f1
from codistill.explanations.student import fill


def task_classifier(lm: Any, tokenizer: Any, prompts: PromptsConfig, label_words: Sequence[str]):
    """(classifier, prompt tokenizer): the student scored through the task prefix only."""
    from codistill.models.verbalizer import PromptTokenizer, VerbalizerConfig, build_verbalizer

    cfg = VerbalizerConfig(template=prompts.task, label_words=[[w] for w in label_words], chat=prompts.chat)
    if getattr(lm.config, "is_encoder_decoder", False):
        from codistill.explanations.seq2seq import Seq2SeqVerbalizer, label_first_tokens

        return Seq2SeqVerbalizer(lm, label_first_tokens(tokenizer, label_words)), PromptTokenizer(
            tokenizer, cfg, cfg.words(label_words)
        )
    return build_verbalizer("student", cfg, list(label_words), lm=lm, tokenizer=tokenizer)


def predict(
    classifier: Any, prompt_tok: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = 128
) -> np.ndarray:
    from codistill.evaluation import predict_logits

    if not len(texts):
        return np.zeros(0, dtype=int)
    return predict_logits(classifier, prompt_tok, list(texts), batch_size=batch_size, max_length=max_length).argmax(1)


def task_metrics(labels: Sequence[int], student: Sequence[int], teacher: Sequence[int]) -> dict[str, float]:
    from codistill.evaluation.fidelity import agreement
    from codistill.evaluation.metrics import label_metrics

    return {**label_metrics(labels, student, ("accuracy", "macro_f1")), "agreement": agreement(teacher, student)}


def generate(
    lm: Any, tokenizer: Any, template: str, texts: Sequence[str], prompts: PromptsConfig, max_new_tokens: int
) -> list[str]:
    from codistill.generation.evaluate import generate_answers

    if getattr(lm.config, "is_encoder_decoder", False):
        from codistill.explanations.seq2seq import generate_seq2seq

        replies = generate_seq2seq(lm, tokenizer, [fill(template, t) for t in texts], max_new_tokens)
        return [r.strip().split("\n", 1)[0] for r in replies]
    replies = generate_answers(
        lm,
        tokenizer,
        [fill(template, t) for t in texts],
        chat=prompts.chat,
        max_new_tokens=max_new_tokens,
        desc="explain",
    )
    return [r.strip().split("\n", 1)[0] for r in replies]


def counterfactual_metrics(
    texts: Sequence[str],
    written: Sequence[str],
    teacher_probs,
    student_predict,
    teacher_labels: Sequence[int],
    student_labels: Sequence[int],
) -> tuple[dict[str, float], list[str | None]]:
    """Validity against the teacher and self-consistency of the student's counterfactuals."""
    parsed = [parse_counterfactual(w, t) for w, t in zip(written, texts)]
    idx = [i for i, p in enumerate(parsed) if p is not None]
    n = max(1, len(texts))
    if not idx:
        return {"cf_parse_rate": 0.0, "cf_validity": 0.0, "cf_self_consistency": 0.0}, [None] * len(texts)
    cf_texts = [p[0] for p in parsed if p is not None]  # in the order of idx
    t_new = np.asarray(teacher_probs(cf_texts)).argmax(1)
    s_new = student_predict(cf_texts)
    valid = sum(int(t_new[j] != teacher_labels[i]) for j, i in enumerate(idx))
    consistent = sum(int(s_new[j] != student_labels[i]) for j, i in enumerate(idx))
    full: list[str | None] = [p[0] if p else None for p in parsed]
    return {"cf_parse_rate": len(idx) / n, "cf_validity": valid / n, "cf_self_consistency": consistent / n}, full


def rationale_metrics(
    written: Sequence[str],
    references: Sequence[str | None],
    reader_probs,
    student_labels: Sequence[int],
    label_names: Sequence[str],
) -> dict[str, float]:
    """Token F1 with the teacher's rationales (where there is one) and simulatability."""
    pairs = [(w, r) for w, r in zip(written, references) if r]
    evidence = [rationale_evidence(w, label_names) for w in written]
    keep = [i for i, e in enumerate(evidence) if e.strip()]
    simulated = 0
    if keep:
        read = np.asarray(reader_probs([evidence[i] for i in keep])).argmax(1)
        simulated = sum(int(read[j] == student_labels[i]) for j, i in enumerate(keep))
    out = {"simulatability": simulated / max(1, len(written))}
    if pairs:
        out["rationale_f1"] = float(
            np.mean(
                [token_f1(rationale_evidence(w, label_names), rationale_evidence(r, label_names)) for w, r in pairs]
            )
        )
    return out
