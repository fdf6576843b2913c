"""Quality report of a counterfactual file: validity (overall and by the teacher's class),
edit size, semantic similarity, fluency, teacher margin shift, failure reasons and sample pairs."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from codistill.counterfactuals.record import CounterfactualRecord
from codistill.counterfactuals.text import char_edit_ratio, edited_words


def _mean(xs: Sequence[float]) -> float | None:
    return round(float(statistics.fmean(xs)), 4) if xs else None


def minilm_similarity(pairs: Sequence[tuple[str, str]], model: str = "minilm-l6") -> list[float] | None:
    """Cosine similarity of mean-pooled MiniLM sentence embeddings; None if MiniLM is missing."""
    if not pairs:
        return []
    try:
        import torch
        from transformers import AutoModel

        from codistill.models import load_tokenizer, resolve_model

        ref = resolve_model(model)
        tok = load_tokenizer(ref)
        enc_model = AutoModel.from_pretrained(ref.path).eval()
    except Exception:  # noqa: BLE001 - the report degrades gracefully without the asset
        return None

    def embed(texts: list[str]):
        out = []
        for i in range(0, len(texts), 64):
            enc = tok(texts[i : i + 64], padding=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.inference_mode():
                h = enc_model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            out.append(torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1))
        return torch.cat(out)

    a = embed([p[0] for p in pairs])
    b = embed([p[1] for p in pairs])
    return [float(x) for x in (a * b).sum(-1)]


class Perplexities(NamedTuple):
    """Perplexities of the originals and of their counterfactuals, and the scorer's name."""

    scorer: str
    original: list[float]
    counterfactual: list[float]


def quality_report(
    records: Sequence[CounterfactualRecord],
    failures: Sequence[dict[str, Any]],
    *,
    originals: int,
    originals_by_class: dict[int, int],
    label_names: Sequence[str],
    fluency=None,
    similarity: bool = True,
    sample: int = 10,
) -> dict[str, Any]:
    """``fluency``: an object with ``perplexities(texts)`` (causal LM) or ``perplexity(text)`` (n-gram)."""
    report: dict[str, Any] = {
        "originals": originals,
        "valid": len(records),
        "validity": round(len(records) / originals, 4) if originals else None,
        "validity_by_class": validity_by_class(records, originals_by_class, label_names),
        **edit_size(records),
        "teacher": teacher_shift(records),
        "failures": dict(Counter(f.get("reason", "?") for f in failures).most_common()),
        "attempts": {"mean": _mean([r.attempts for r in records])},
        "cost_usd": round(sum(r.cost_usd for r in records), 6),
        "semantic_similarity": semantic_similarity(records, similarity),
    }
    if fluency is not None and records:
        report["fluency"] = fluency_summary(perplexities(fluency, records))
    report["sample"] = sample_pairs(records, label_names, sample)
    return report


def validity_by_class(
    records: Sequence[CounterfactualRecord], originals_by_class: dict[int, int], label_names: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Originals, valid counterfactuals and their share per class the teacher gave the original."""
    valid = Counter(r.teacher_label_original for r in records)
    return {
        label_names[c]: {
            "originals": n,
            "valid": valid.get(c, 0),
            "validity": round(valid.get(c, 0) / n, 4) if n else None,
        }
        for c, n in sorted(originals_by_class.items())
    }


def edit_size(records: Sequence[CounterfactualRecord]) -> dict[str, dict[str, Any]]:
    """The ``edited_words`` summary (mean, median, max, histogram capped at 5) and the
    ``char_edit_ratio`` mean."""
    ew = [edited_words(r.original_text, r.counterfactual_text) for r in records]
    cer = [char_edit_ratio(r.original_text, r.counterfactual_text) for r in records]
    return {
        "edited_words": {
            "mean": _mean(ew),
            "median": statistics.median(ew) if ew else None,
            "max": max(ew) if ew else None,
            "histogram": dict(sorted(Counter(min(x, 5) for x in ew).items())),
        },
        "char_edit_ratio": {"mean": _mean(cer)},
    }


def teacher_shift(records: Sequence[CounterfactualRecord]) -> dict[str, float | None]:
    """The teacher's mean probability of the new label, the mean shift of the margin of the
    original's label over the reached class, and the share of counterfactuals near the boundary."""
    p_new = [r.teacher_probs_counterfactual[r.counterfactual_label] for r in records if r.teacher_probs_counterfactual]
    shifts = []
    for r in records:
        if r.teacher_probs_original and r.teacher_probs_counterfactual and r.teacher_label_original is not None:
            lab = r.teacher_label_original
            new = r.counterfactual_label  # the margin of the original's label over the class the counterfactual reached
            m0 = r.teacher_probs_original[lab] - r.teacher_probs_original[new]
            m1 = r.teacher_probs_counterfactual[lab] - r.teacher_probs_counterfactual[new]
            shifts.append(m0 - m1)
    return {
        "mean_prob_new_label": _mean(p_new),
        "mean_margin_shift": _mean(shifts),
        "near_boundary_share_p_lt_0.75": round(sum(p < 0.75 for p in p_new) / len(p_new), 4) if p_new else None,
    }


def semantic_similarity(records: Sequence[CounterfactualRecord], enabled: bool) -> dict[str, Any]:
    """Mean MiniLM cosine of each original and its counterfactual (None when off or MiniLM is missing)."""
    sims = minilm_similarity([(r.original_text, r.counterfactual_text) for r in records]) if enabled else None
    return {"mean": _mean(sims) if sims else None, "model": "minilm-l6" if sims is not None else None}


def perplexities(fluency: Any, records: Sequence[CounterfactualRecord]) -> Perplexities:
    """Score originals and counterfactuals with a causal LM (``perplexities``) or an n-gram
    model (``perplexity``)."""
    orig = [r.original_text for r in records]
    cf = [r.counterfactual_text for r in records]
    if hasattr(fluency, "perplexities"):
        return Perplexities(getattr(fluency, "name", "causal-lm"), fluency.perplexities(orig), fluency.perplexities(cf))
    return Perplexities("ngram(pool)", [fluency.perplexity(t) for t in orig], [fluency.perplexity(t) for t in cf])


def fluency_summary(ppl: Perplexities) -> dict[str, Any]:
    """Mean and median perplexities and the median counterfactual/original ratio."""
    po, pc = ppl.original, ppl.counterfactual
    return {
        "scorer": ppl.scorer,
        "perplexity_original": _mean(po),
        "perplexity_counterfactual": _mean(pc),
        # short phrases give a causal LM huge perplexities: medians are the robust summary
        "median_perplexity_original": round(statistics.median(po), 3),
        "median_perplexity_counterfactual": round(statistics.median(pc), 3),
        "median_ratio": round(statistics.median(c / o for o, c in zip(po, pc)), 4),
    }


def sample_pairs(
    records: Sequence[CounterfactualRecord], label_names: Sequence[str], sample: int
) -> list[dict[str, Any]]:
    """The first ``sample`` pairs with their labels and the teacher's probability of the new one."""
    return [
        {
            "original": r.original_text,
            "counterfactual": r.counterfactual_text,
            "labels": f"{label_names[r.teacher_label_original]} -> {label_names[r.counterfactual_label]}"
            if r.teacher_label_original is not None
            else label_names[r.counterfactual_label],
            "p_new": round(r.teacher_probs_counterfactual[r.counterfactual_label], 3)
            if r.teacher_probs_counterfactual
            else None,
        }
        for r in list(records)[:sample]
    ]


def format_report(report: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    rows = [
        ("originals", report["originals"]),
        ("valid counterfactuals", report["valid"]),
        ("validity", report["validity"]),
    ]
    for name, c in report["validity_by_class"].items():
        rows.append((f"  validity | teacher said {name}", f"{fmt(c['validity'])} ({c['valid']}/{c['originals']})"))
    rows += [
        (
            "edited words (mean / median / max)",
            f"{fmt(report['edited_words']['mean'])} / {fmt(report['edited_words']['median'])} / {fmt(report['edited_words']['max'])}",
        ),
        ("char edit ratio (mean)", report["char_edit_ratio"]["mean"]),
        ("semantic similarity (MiniLM cos)", report["semantic_similarity"]["mean"]),
        ("teacher p(new label) (mean)", report["teacher"]["mean_prob_new_label"]),
        ("teacher margin shift (mean)", report["teacher"]["mean_margin_shift"]),
        ("share with p(new label) < 0.75", report["teacher"]["near_boundary_share_p_lt_0.75"]),
    ]
    if "fluency" in report:
        f = report["fluency"]
        rows.append(
            (
                f"perplexity orig -> cf [{f['scorer']}]",
                f"{fmt(f['perplexity_original'])} -> {fmt(f['perplexity_counterfactual'])} (median ratio {fmt(f['median_ratio'])})",
            )
        )
    rows += [("attempts (mean)", report["attempts"]["mean"]), ("cost (USD)", report["cost_usd"])]
    if report["failures"]:
        rows.append(("failures", ", ".join(f"{k}={v}" for k, v in report["failures"].items())))
    width = max(len(r[0]) for r in rows)
    lines = [f"{k:<{width}}  {fmt(v)}" for k, v in rows]
    if report["sample"]:
        lines.append("sample pairs:")
        for s in report["sample"]:
            lines.append(f"  [{s['labels']}, p={fmt(s['p_new'])}]")
            lines.append(f"    - {s['original']}")
            lines.append(f"    + {s['counterfactual']}")
    return "\n".join(lines)
