"""``codistill explain``: teacher explanations for the examples of k-shot budgets.

Outputs in ``output_dir``:
  explanations.jsonl  one :class:`ExplanationRecord` per training example (union of the seeds' k-shot sets)
  eval.jsonl          the same for ``eval_examples`` test examples (reference rationales for students)
  dataset/            explanations.jsonl as a ``datasets`` Dataset (``save_to_disk``)
  run.json            counts, verified counterfactuals, ledger (calls, tokens, dollars), timings
  config.yaml         the resolved config (``explain-distill`` reads the task and teacher from it)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codistill.errors import ConfigError
from codistill.explanations.config import ExplainConfig
from codistill.explanations.record import ExplanationRecord, to_dataset, write_explanations
from codistill.explanations.render import render_counterfactual, render_rationale


@dataclass
class ExplainResult:
    output_dir: Path
    records: list[ExplanationRecord]
    eval_records: list[ExplanationRecord]
    run: dict[str, Any]


def default_output_dir(config: ExplainConfig) -> Path:
    return Path("outputs") / "explanations" / f"{config.data.task}-k{config.k}-{config.source}"


def eval_examples(data: Any, n: int) -> list:
    """A fixed class-balanced subsample of the test split (seed 0): shared by `explain` (reference
    explanations) and students' evaluation, so the same examples are matched by id."""
    from codistill.data.sampling import balanced_order

    test = data.split("test")
    order = balanced_order(test, data.num_labels, 0)
    rest = [e for e in test if e.id not in {x.id for x in order}]  # the unbalanced tail
    return (order + rest)[:n]


def budget_examples(data: Any, k: int, seeds: list[int]) -> list:
    from codistill.data import sample

    seen: dict[str, Any] = {}
    for seed in seeds:
        for e in sample(data, k, seed).examples:
            seen.setdefault(e.id, e)
    return list(seen.values())


def counterfactual_config(config: ExplainConfig, output_dir: Path):
    from codistill.counterfactuals.config import CounterfactualConfig

    return CounterfactualConfig(
        data=config.data,
        k=config.k,
        seed=config.seeds[0],
        teacher=config.teacher or "given",
        generator="editor" if config.source == "teacher" else config.source,
        max_attempts=config.max_attempts,
        max_budget_usd=config.max_budget_usd,
        teacher_batch_size=config.teacher_batch_size,
        cache_dir=config.cache_dir,
        use_cache=config.use_cache,
        output_dir=str(output_dir / "counterfactuals"),
        progress=config.progress,
        report_similarity=False,
        openai=config.openai,
        hf_chat=config.hf_chat,
        editor=config.editor,
    )


def generate_explanations(config: ExplainConfig, *, verifier: Any = None, echo=print) -> ExplainResult:
    """Explain every example of the budgets ``(k, seed) for seed in seeds`` (and ``eval_examples``
    test examples). ``verifier`` replaces the teacher (tests pass scripted teachers)."""
    from codistill.counterfactuals.budget import Budget
    from codistill.counterfactuals.cache import Cache, Ledger
    from codistill.counterfactuals.generators.base import get_generator
    from codistill.counterfactuals.pipeline import run_counterfactuals
    from codistill.data import load_task
    from codistill.utils.io import check_output_dir

    t0 = time.monotonic()
    if verifier is None and not config.teacher:
        raise ConfigError(
            "no teacher: pass --teacher PATH (the task teacher verifies counterfactuals and grounds rationales)"
        )
    out_dir = Path(config.output_dir) if config.output_dir else default_output_dir(config)
    check_output_dir(out_dir, "explain output directory", "explain")  # before any work: never write a user's folder
    data = load_task(config.data)
    names = list(data.task.label_names)
    train, held = budget_examples(data, config.k, config.seeds), eval_examples(data, config.eval_examples)
    examples = train + held
    if verifier is None:
        from codistill.counterfactuals.verify import TeacherVerifier

        echo(f"loading teacher {config.teacher}")
        verifier = TeacherVerifier(config.teacher, batch_size=config.teacher_batch_size, num_labels=data.num_labels)
    probs = verifier.probs([e.text for e in examples])
    labels = [int(p.argmax()) for p in probs]

    cf_cfg = counterfactual_config(config, out_dir)
    budget = Budget(config.max_budget_usd)  # one cap for the whole command: counterfactuals and rationales
    cf_by_id, cf_run = {}, {}
    if config.counterfactuals:
        result = run_counterfactuals(
            cf_cfg, verifier=verifier, write=False, echo=echo, originals=examples, budget=budget
        ).check_endpoint()
        cf_by_id, cf_run = {r.original_id: r for r in result.records}, result.run
    cf_cost = float(cf_run.get("ledger", {}).get("cost_usd", 0.0))

    echo(f"writing rationales for {len(examples)} examples ({config.source})")
    provenance: dict[str, Any] = {
        "source": config.source,
        "teacher": config.teacher,
        "teacher_fingerprint": getattr(verifier, "fingerprint", ""),
    }
    ledger_summary: dict[str, Any] = {}
    if config.source == "teacher":
        evidence, method = salient_words_for(verifier, examples, labels, config.evidence_words)
        provenance["saliency"] = method
        llm: list[dict[str, Any]] = [
            {"evidence": ev, "rationale": render_rationale(names[y], ev) if ev else None}
            for ev, y in zip(evidence, labels)
        ]
    else:
        from codistill.explanations.sources import PROMPT_HASH, LLMRationales

        cache = Cache(config.cache_dir) if config.use_cache else None
        ledger = Ledger(cache, config.to_dict())
        generator = get_generator(config.source)(cf_cfg, data.task)
        generator.attach(cache, ledger, budget)
        llm = LLMRationales(generator, names, config.evidence_words, config.critique, config.revise).explain(
            [e.text for e in examples], labels
        )
        generator.close()
        ledger_summary = ledger.summary()
        provenance.update(
            model=config.openai.model if config.source == "openai" else config.hf_chat.model, prompt=PROMPT_HASH
        )
        if cache is not None:
            cache.close()

    records = []
    for e, p, y, r in zip(examples, probs, labels, llm):
        cf = cf_by_id.get(e.id)
        records.append(
            ExplanationRecord(
                id=e.id,
                text=e.text,
                teacher_label=y,
                label=e.label,
                teacher_probs=[float(x) for x in p],
                rationale=r.get("revision") or r["rationale"],
                evidence=list(r["evidence"]),
                counterfactual_text=cf.counterfactual_text if cf else None,
                counterfactual_label=cf.counterfactual_label if cf else None,
                counterfactual_probs=cf.teacher_probs_counterfactual if cf else None,
                counterfactual=render_counterfactual(e.text, cf.counterfactual_text, names[cf.counterfactual_label])
                if cf
                else None,
                critique=r.get("critique"),
                revision=r.get("revision"),
                source=config.source,
                provenance={
                    **provenance,
                    "counterfactual_generator": cf.generator if cf else None,
                    **(
                        {"draft": r["rationale"], "cost_usd": round(r.get("cost_usd", 0.0), 8)}
                        if config.source != "teacher"
                        else {}
                    ),
                },
            )
        )
    train_records, eval_records = records[: len(train)], records[len(train) :]
    run = {
        "task": data.task.name,
        "k": config.k,
        "seeds": config.seeds,
        "source": config.source,
        "teacher": config.teacher,
        "teacher_fingerprint": provenance["teacher_fingerprint"],
        "examples": len(train),
        "eval_examples": len(eval_records),
        "with_rationale": sum(r.rationale is not None for r in records),
        "with_counterfactual": sum(r.counterfactual is not None for r in records),
        "counterfactual_validity": round(len(cf_by_id) / len(examples), 4)
        if config.counterfactuals and examples
        else None,
        "counterfactual_ledger": cf_run.get("ledger"),
        "rationale_ledger": ledger_summary or None,
        "cost_usd": round(cf_cost + float(ledger_summary.get("cost_usd", 0.0)), 6),
        "seconds": round(time.monotonic() - t0, 2),
        "budget_usd": config.max_budget_usd,
        "stopped_by_budget": budget.stop_message() if budget.refused else None,
    }
    write_outputs(out_dir, config, train_records, eval_records, run)
    return ExplainResult(out_dir, train_records, eval_records, run)


def salient_words_for(verifier: Any, examples: list, labels: list[int], n: int) -> tuple[list[list[str]], str]:
    from codistill.explanations.sources import salient_words

    return salient_words(verifier, [e.text for e in examples], labels, n)


def write_outputs(out_dir: Path, config: ExplainConfig, records, eval_records, run) -> None:
    from codistill.utils.io import atomic_directory, atomic_write_json, claim_output_dir

    claim_output_dir(out_dir, "explain", "explain output directory")
    write_explanations(out_dir / "explanations.jsonl", records)
    if eval_records:
        write_explanations(out_dir / "eval.jsonl", eval_records)
    atomic_write_json(out_dir / "run.json", run)
    config.save(out_dir / "config.yaml")
    with atomic_directory(out_dir / "dataset", "dataset") as tmp:
        to_dataset(records).save_to_disk(str(tmp))
