"""Orchestration of ``codistill counterfactuals``: k-shot originals -> cache look-up -> teacher
probabilities -> generator search with teacher verification -> files and quality report.

Outputs in ``output_dir``:
  counterfactuals.jsonl  verified counterfactuals (the file ``distill`` consumes; with ``keep_unverified``
                         also the best unverified candidate of the other originals, meta.verified=false)
  dataset/               the same records as a ``datasets`` Dataset (``save_to_disk``)
  failures.jsonl         every rejected candidate and every original without a counterfactual, with why
  report.json            quality report (also printed as a table)
  run.json               config, counts, cache hits, ledger (calls, tokens, dollars), timings
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codistill.counterfactuals.budget import Budget
from codistill.counterfactuals.cache import Cache, Ledger
from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.generators.base import Chosen, Failure, Outcome, Request, get_generator, is_fact
from codistill.counterfactuals.record import CounterfactualRecord, write_counterfactuals
from codistill.counterfactuals.targets import named_target, targets_for
from codistill.counterfactuals.text import edited_words, has_words
from codistill.errors import ConfigError, EndpointError
from codistill.utils.hashing import fingerprint

if TYPE_CHECKING:
    from codistill.counterfactuals.fluency import CausalLMScorer, NGramLM


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


def run_counterfactuals(
    config: CounterfactualConfig,
    *,
    verifier=None,
    write: bool = True,
    echo=print,
    originals=None,
    data=None,
    budget: Budget | None = None,
) -> RunResult:
    """Generate, verify and write counterfactuals for the CoD originals of ``(task, k, seed)``.

    ``verifier`` replaces the teacher (tests pass scripted teachers); otherwise ``config.teacher``
    is loaded, and only when some input is not already in the cache. ``originals`` (examples of
    the task) replaces the CoD originals, e.g. every example of a budget for explanations. ``data``
    (a loaded :class:`TaskData`) replaces ``config.data``. Own texts (``data.train_file``) get
    counterfactuals for every training text, not a k-shot draw.
    ``budget`` is the spending limit of the whole command when it makes several runs (a sweep,
    ``explain``); by default the run has its own ``config.max_budget_usd``.

    When every call failed at the endpoint, ``run["endpoint_failure"]`` says why and
    :meth:`RunResult.check_endpoint` (which every command calls) raises :class:`EndpointError`.
    """
    from codistill.data import load_task, sample
    from codistill.models.loading import scorer_fingerprint
    from codistill.teacher.meta import teacher_max_length

    t0 = time.monotonic()
    if verifier is None and not config.teacher:
        raise ConfigError("no teacher: pass --teacher PATH (a fine-tuned classifier directory)")
    out_dir = Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config)
    if write:  # before any teacher or API work: never write into a user's folder
        from codistill.utils.io import check_output_dir

        check_output_dir(out_dir, kind="counterfactuals")
    data = data if data is not None else load_task(config.data)
    if originals is None and config.data.owned:
        originals = data.pool  # your own texts: every one gets counterfactuals
    originals = (
        list(originals) if originals is not None else list(sample(data, config.k, config.seed, cod=True).examples)
    )
    generator = get_generator(config.generator)(config, data.task)
    for note in generator.notes:
        echo(note)
    cache = Cache(config.cache_dir) if config.use_cache else None
    ledger = Ledger(cache, config.to_dict())
    budget = budget if budget is not None else Budget(config.max_budget_usd)
    generator.attach(cache, ledger, budget)
    generator.prepare([e.text for e in data.pool], data.fingerprint)
    teacher_fp = verifier.fingerprint if verifier is not None else scorer_fingerprint(config.teacher)
    # the verifier reads as many tokens as the teacher was trained with (distillation does too)
    max_length = getattr(verifier, "max_length", None) or teacher_max_length(config.teacher, config.teacher_max_length)
    identity = {
        **generator.identity(),
        "teacher": teacher_fp,
        "selection": config.selection,
        "max_attempts": config.max_attempts,
        "labels": list(data.task.label_names),
        "teacher_max_length": max_length,
    }
    named = named_target(data.task.label_names, config.target_class) if config.target == "named" else None
    if data.num_labels > 2 or config.target != "runner_up":  # binary runner-up keys stay as they were
        identity["target"] = [config.target, named]
    if config.per_original > 1:  # keys of single-counterfactual runs stay as they were
        identity["per_original"] = config.per_original
    if config.verify.screen_dtype != "none":  # the search path can differ; what is kept is exact either way
        identity["screen"] = config.verify.model_dump(mode="json")
    keys = {e.id: fingerprint({**identity, "text": e.text}, length=32) for e in originals}

    outcomes: dict[str, Outcome] = {}
    if cache is not None:
        for e in originals:
            hit = cache.get("outcomes", keys[e.id])
            if hit is not None:
                out = Outcome.from_dict(hit)
                if out.chosen is None and not all(is_fact(f.reason) for f in out.failures):
                    continue  # an endpoint failure an older version cached: ask again
                out.original_id = e.id
                out.meta["cached"] = True
                outcomes[e.id] = out
    misses = [e for e in originals if e.id not in outcomes]
    t_teacher = cpu_teacher = 0.0
    if misses:
        if verifier is None:
            from codistill.counterfactuals.verify import TeacherVerifier

            echo(f"loading teacher {config.teacher}")
            verifier = TeacherVerifier(
                config.teacher, batch_size=config.teacher_batch_size, max_length=max_length, num_labels=data.num_labels
            )
            if config.verify.screen_dtype != "none":
                from codistill.counterfactuals.verify import ScreenedVerifier

                verifier = ScreenedVerifier(
                    verifier,
                    verifier.screening_copy(config.verify.screen_dtype),
                    config.verify.screen_margin,
                    saliency_from_screen=config.verify.screen_saliency,
                )
        t1, c1 = time.monotonic(), time.process_time()
        probs = verifier.probs([e.text for e in misses])
        requests = [
            Request(
                e,
                int(p.argmax()),
                [float(x) for x in p],
                targets=targets_for(p, config.target, per_original=config.per_original, named=named),
            )
            for e, p in zip(misses, probs)
        ]
        by_id = {r.example.id: r for r in requests}

        def store(out: Outcome) -> None:
            req = by_id[out.original_id]
            out.meta["teacher_probs_original"] = req.teacher_probs
            out.meta["teacher_label_original"] = req.teacher_label
            if cache is not None and "stopped" not in out.meta and "transient" not in out.meta:
                cache.put("outcomes", keys[out.original_id], out.to_dict())

        echo(
            f"generating counterfactuals for {len(misses)} originals ({len(originals) - len(misses)} cached) with {config.generator}"
        )
        for req in [
            r for r in requests if not r.targets
        ]:  # target=named and the teacher already says it: nothing to reach
            outcomes[req.example.id] = out = Outcome(
                req.example.id,
                None,
                0,
                0.0,
                [
                    Failure(
                        req.example.id,
                        0,
                        "target:teacher_label",
                        f"the teacher already predicts {data.task.label_names[req.teacher_label]}",
                    )
                ],
            )
            store(out)
        for out in generator.search([r for r in requests if r.targets], verifier, on_outcome=store):
            req = by_id[out.original_id]
            out.meta.setdefault("teacher_probs_original", req.teacher_probs)
            out.meta.setdefault("teacher_label_original", req.teacher_label)
            outcomes[out.original_id] = out
        t_teacher, cpu_teacher = time.monotonic() - t1, time.process_time() - c1
    generator.close()

    records, failures = build_records(config, originals, outcomes)
    for r in records:  # provenance that distillation checks against its own task and teacher
        r.task, r.teacher_fingerprint, r.teacher_max_length = data.task.name, teacher_fp, max_length
    primary = [
        r for r in records if not r.meta.get("rank") and r.meta.get("verified", True)
    ]  # the best flip of each original
    elapsed = time.monotonic() - t0
    by_class: dict[int, int] = {}
    for e in originals:
        lab = outcomes[e.id].meta.get("teacher_label_original")
        if lab is not None:
            by_class[int(lab)] = by_class.get(int(lab), 0) + 1
    stopped = sorted({o.meta["stopped"] for o in outcomes.values() if "stopped" in o.meta})
    run = {
        "task": data.task.name,
        "k": config.k,
        "seed": config.seed,
        "generator": config.generator,
        "teacher": config.teacher,
        "teacher_fingerprint": teacher_fp,
        "teacher_max_length": max_length,
        "originals": len(originals),
        "cached_outcomes": len(originals) - len(misses),
        "valid": len(primary),
        "records": len(records),
        "seconds": round(elapsed, 3),
        "generation_seconds": round(t_teacher, 3),
        "generation_cpu_seconds": round(cpu_teacher, 3),  # this process's CPU time: the cost on a shared machine
        "verified_per_second": round(sum(1 for e in misses if outcomes[e.id].chosen) / t_teacher, 3)
        if t_teacher
        else None,
        "teacher_texts_scored": getattr(verifier, "calls", 0) if verifier is not None else 0,
        "screening": verifier.report() if hasattr(verifier, "report") else None,
        "cache": {
            "path": str(cache.path) if cache else None,
            "hits": dict(cache.hits) if cache else {},
            "misses": dict(cache.misses) if cache else {},
        },
        "ledger": ledger.summary(),
        "budget_usd": config.max_budget_usd,
        "stopped_by_budget": stopped[0] if stopped else None,
        "endpoint_failure": endpoint_failure([outcomes[e.id] for e in misses]),
    }
    from codistill.counterfactuals.quality import quality_report

    fluency: CausalLMScorer | NGramLM
    if config.report_lm:
        from codistill.counterfactuals.fluency import CausalLMScorer

        fluency = CausalLMScorer(config.report_lm)
    elif generator.lm is not None:
        fluency = generator.lm
    else:
        from codistill.counterfactuals.fluency import NGramLM

        fluency = NGramLM(e.text for e in data.pool)
    report = quality_report(
        primary,
        failures,
        originals=len(originals),
        originals_by_class=by_class,
        label_names=data.task.label_names,
        fluency=fluency,
        similarity=config.report_similarity,
        sample=config.report_sample,
    )
    # one cost figure everywhere: every call's cost lands in its original's outcome, so for a fresh
    # run this equals the ledger (cached outcomes add what they cost when they were made)
    report["cost_usd"] = round(sum(o.cost_usd for o in outcomes.values()), 6)
    if config.keep_unverified:
        report["unverified_records"] = sum(1 for r in records if not r.meta.get("verified", True))
    if config.per_original > 1:
        report["per_original"] = {
            "m": config.per_original,
            "records": len(records),
            "mean": round(len(records) / len(primary), 3) if primary else 0.0,
            "originals_with_m": sum(
                1
                for e in originals
                if outcomes[e.id].chosen and len(outcomes[e.id].alternatives) + 1 >= config.per_original
            ),
        }
    report["run"] = {
        k: run[k] for k in ("task", "k", "seed", "generator", "cached_outcomes", "seconds", "verified_per_second")
    }
    ledger.finish(run)
    if write:
        write_outputs(out_dir, config, records, failures, report, run)
    if cache is not None:
        cache.close()
    return RunResult(out_dir, records, failures, report, run, [outcomes[e.id] for e in originals])


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
    atomic_write_json(out_dir / "report.json", report)
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
