"""What a counterfactual run produces: search outcomes -> :class:`CounterfactualRecord` rows and
failure lines, the files of the output directory and the :class:`RunResult` handed back.

Outputs in ``output_dir``:
  counterfactuals.jsonl  verified counterfactuals (the file ``distill`` consumes; with ``keep_unverified``
                         also the best unverified candidate of the other originals, meta.verified=false)
  dataset/               the same records as a ``datasets`` Dataset (``save_to_disk``)
  failures.jsonl         every rejected candidate and every original without a counterfactual, with why
  report.json            quality report (also printed as a table)
  run.json               config, counts, cache hits, ledger (calls, tokens, dollars), timings
  config.yaml            the run's configuration
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.generators.base import Chosen, Failure, Outcome, is_fact
from codistill.counterfactuals.record import CounterfactualRecord, write_counterfactuals
from codistill.counterfactuals.text import edited_words, has_words
from codistill.errors import EndpointError

#: the quality report a counterfactual run writes into its folder (and `counterfactuals-report -o`)
REPORT_FILE = "report.json"


@dataclass
class RunResult:
    output_dir: Path
    records: list[CounterfactualRecord]
    failures: list[dict[str, Any]]
    report: dict[str, Any]
    run: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def check_endpoint(self) -> RunResult:
        """Raise :class:`EndpointError` when every call of the run failed at the endpoint (a wrong
        key or URL, an outage): a run that produced nothing because of it must not pass for done."""
        cause = self.run.get("endpoint_failure")
        if cause:
            where = (
                f"; failures in {self.output_dir / 'failures.jsonl'}"
                if (self.output_dir / "failures.jsonl").is_file()
                else ""
            )
            raise EndpointError(
                f"every API call failed: {cause}; nothing was cached, so a rerun after fixing the key or the "
                f"endpoint (--base-url) calls again{where}"
            )
        return self


def default_output_dir(config: CounterfactualConfig) -> Path:
    return Path("outputs") / "counterfactuals" / f"{config.data.task}-k{config.k}-s{config.seed}-{config.generator}"


def primary_records(records: list[CounterfactualRecord]) -> list[CounterfactualRecord]:
    """The best verified flip of each original (the records of rank 0)."""
    return [r for r in records if not r.meta.get("rank") and r.meta.get("verified", True)]


def endpoint_failure(outcomes: list[Outcome]) -> str | None:
    """Why, when outcomes made with API calls all failed at the endpoint (no reply worth parsing,
    no budget stop): the commonest reason and its first detail; ``None`` otherwise."""
    failures = [f for o in outcomes for f in o.failures]
    if (
        not failures
        or any(o.chosen for o in outcomes)
        or any(is_fact(f.reason) or f.reason.startswith("budget:") for f in failures)
    ):
        return None
    reasons = Counter(f.reason for f in failures)
    reason, n = reasons.most_common(1)[0]
    detail = next(f.detail for f in failures if f.reason == reason)
    return f"{detail[:200] if detail.startswith(reason) else reason} (x{n})"


def build_records(
    config: CounterfactualConfig, originals, outcomes: dict[str, Outcome]
) -> tuple[list[CounterfactualRecord], list[dict[str, Any]]]:
    records, failures = [], []

    def final_failure(e, out: Outcome, reason: str, detail: str) -> dict[str, Any]:
        """The input ends without a record: one final failure line of its own."""
        return {
            "original_id": e.id,
            "original_text": e.text,
            "attempt": out.attempts,
            "reason": reason,
            "detail": detail,
            "final": True,
            "teacher_label_original": out.meta.get("teacher_label_original"),
        }

    for e in originals:
        out = outcomes[e.id]
        for f in out.failures:
            failures.append(
                {
                    **f.to_dict(),
                    "original_id": e.id,
                    "original_text": e.text,
                    "final": out.chosen is None,
                    "teacher_label_original": out.meta.get("teacher_label_original"),
                }
            )
        if out.chosen is None:
            if "stopped" in out.meta:
                failures.append(final_failure(e, out, "budget:stopped", out.meta["stopped"]))
            elif config.keep_unverified and (best := best_unverified(out)) is not None:
                assert best.candidate is not None and best.teacher_probs is not None  # best_unverified checks both
                probs = list(best.teacher_probs)
                label = max(range(len(probs)), key=probs.__getitem__)  # the teacher's prediction: it did not flip
                records.append(
                    _record(
                        config,
                        e,
                        out,
                        Chosen(best.candidate, probs, label, edited_words(e.text, best.candidate)),
                        0,
                        verified=False,
                    )
                )
            continue
        kept = [c for c in [out.chosen, *out.alternatives] if has_words(c.text)]
        if not kept:  # an outcome from an older cache or another tool: never write a record the reader refuses
            failures.append(final_failure(e, out, "empty_text", "the chosen counterfactual has no words left"))
        for rank, c in enumerate(kept[: config.per_original]):
            records.append(_record(config, e, out, c, rank))
    return records, failures


def _record(
    config: CounterfactualConfig, e, out: Outcome, c: Chosen, rank: int, verified: bool = True
) -> CounterfactualRecord:
    return CounterfactualRecord(
        original_id=e.id,
        counterfactual_text=c.text,
        counterfactual_label=c.label,
        original_text=e.text,
        original_label=e.label,
        teacher_label_original=out.meta.get("teacher_label_original"),
        teacher_probs_original=out.meta.get("teacher_probs_original"),
        teacher_probs_counterfactual=c.probs,
        generator=config.generator,
        attempts=out.attempts,
        cost_usd=round(out.cost_usd, 8) if rank == 0 else 0.0,
        meta={
            "edited_words": c.edited_words,
            "selection": config.selection,
            "candidates_checked": out.candidates_checked,
            "valid_candidates": out.valid_candidates,
            **({"rank": rank} if config.per_original > 1 else {}),
            **c.meta,
            **({} if verified else {"verified": False}),
        },
    )


def best_unverified(out: Outcome) -> Failure | None:
    """The checked candidate of an input without a verified flip that moved the teacher furthest
    towards the other label (``keep_unverified``): what an unchecked generator would have used."""
    label = int(out.meta.get("teacher_label_original", 0))
    checked = [
        f
        for f in out.failures
        if f.candidate and has_words(f.candidate) and f.teacher_probs and len(f.teacher_probs) > label
    ]
    return max(checked, key=lambda f: max(p for c, p in enumerate(f.teacher_probs or []) if c != label), default=None)


def write_outputs(out_dir: Path, config: CounterfactualConfig, records, failures, report, run) -> None:
    from codistill.utils.io import atomic_directory, atomic_write_json, atomic_write_jsonl, claim_output_dir
    from codistill.utils.secrets import redact_obj

    claim_output_dir(out_dir, "counterfactuals")
    write_counterfactuals(out_dir / "counterfactuals.jsonl", records)
    atomic_write_jsonl(out_dir / "failures.jsonl", failures)  # every text file is redacted on its way to disk
    atomic_write_json(out_dir / REPORT_FILE, report)
    atomic_write_json(out_dir / "run.json", run)
    config.save(out_dir / "config.yaml")
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        return
    rows = [r.to_dict() for r in records]
    columns = [
        "original_id",
        "counterfactual_text",
        "counterfactual_label",
        "original_text",
        "original_label",
        "teacher_label_original",
        "teacher_probs_original",
        "teacher_probs_counterfactual",
        "generator",
        "attempts",
        "cost_usd",
    ]
    table = redact_obj({c: [r[c] for r in rows] for c in columns})
    features = datasets.Features(
        {
            "original_id": datasets.Value("string"),
            "counterfactual_text": datasets.Value("string"),
            "counterfactual_label": datasets.Value("int64"),
            "original_text": datasets.Value("string"),
            "original_label": datasets.Value("int64"),
            "teacher_label_original": datasets.Value("int64"),
            "teacher_probs_original": datasets.Sequence(datasets.Value("float64")),
            "teacher_probs_counterfactual": datasets.Sequence(datasets.Value("float64")),
            "generator": datasets.Value("string"),
            "attempts": datasets.Value("int64"),
            "cost_usd": datasets.Value("float64"),
        }
    )
    with atomic_directory(out_dir / "dataset", "dataset", check=False) as tmp:
        datasets.Dataset.from_dict(table, features=features).save_to_disk(str(tmp))
