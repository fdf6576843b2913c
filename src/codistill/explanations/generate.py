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
from collections.abc import Callable
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


class ExplainRun:
    """One :func:`generate_explanations` run (the arguments are its).

    :meth:`run` calls its steps in order and each is a method a subclass may override: another
    source of rationales overrides :meth:`rationales`, another record :meth:`build_records`, other
    files :meth:`write`. Steps hand their results on as attributes (``data``, ``examples``,
    ``labels``, ``cf_by_id``, ``provenance``, ...)."""

    out_dir: Path
    data: Any
    names: list[str]
    train: list[Any]
    examples: list[Any]
    probs: Any
    labels: list[int]
    cf_cfg: Any
    budget: Any
    cf_by_id: dict[str, Any]
    cf_run: dict[str, Any]
    provenance: dict[str, Any]
    ledger_summary: dict[str, Any]

    def __init__(self, config: ExplainConfig, *, verifier: Any = None, echo: Callable[..., Any] = print) -> None:
        self.config = config
        self.verifier = verifier
        self.echo = echo

    # -- the run --------------------------------------------------------------------------
    def run(self) -> ExplainResult:
        self.t0 = time.monotonic()
        self.check()
        self.load_inputs()
        self.label_examples()
        self.counterfactuals()
        rationales = self.rationales()
        records = self.build_records(rationales)
        train_records, eval_records = records[: len(self.train)], records[len(self.train) :]
        run = self.summarise(records, eval_records)
        self.write(train_records, eval_records, run)
        return ExplainResult(self.out_dir, train_records, eval_records, run)

    # -- the steps --------------------------------------------------------------------------
    def check(self) -> None:
        """A teacher, and an output directory that is safe to write into (before any work)."""
        from codistill.utils.io import check_output_dir

        config = self.config
        if self.verifier is None and not config.teacher:
            raise ConfigError(
                "no teacher: pass --teacher PATH (the task teacher verifies counterfactuals and grounds rationales)"
            )
        self.out_dir = Path(config.output_dir) if config.output_dir else default_output_dir(config)
        check_output_dir(self.out_dir, "explain output directory", "explain")  # never write a user's folder

    def load_inputs(self) -> None:
        """The task's data and the examples to explain: the budgets' union, then the held-out test examples."""
        from codistill.data import load_task

        config = self.config
        self.data = load_task(config.data)
        self.names = list(self.data.task.label_names)
        self.train = budget_examples(self.data, config.k, config.seeds)
        self.examples = self.train + eval_examples(self.data, config.eval_examples)

    def label_examples(self) -> None:
        """The teacher's probabilities and labels for every example (the teacher loaded if not given)."""
        config = self.config
        if self.verifier is None:
            from codistill.counterfactuals.verify import TeacherVerifier

            self.echo(f"loading teacher {config.teacher}")
            self.verifier = TeacherVerifier(
                config.teacher, batch_size=config.teacher_batch_size, num_labels=self.data.num_labels
            )
        self.probs = self.verifier.probs([e.text for e in self.examples])
        self.labels = [int(p.argmax()) for p in self.probs]

    def counterfactuals(self) -> None:
        """Verified counterfactuals of the examples (if asked), under the command's one budget cap."""
        from codistill.counterfactuals.budget import Budget
        from codistill.counterfactuals.pipeline import run_counterfactuals

        config = self.config
        self.cf_cfg = counterfactual_config(config, self.out_dir)
        self.budget = Budget(config.max_budget_usd)  # one cap for the whole command: counterfactuals and rationales
        self.cf_by_id, self.cf_run = {}, {}
        if config.counterfactuals:
            result = run_counterfactuals(
                self.cf_cfg,
                verifier=self.verifier,
                write=False,
                echo=self.echo,
                originals=self.examples,
                budget=self.budget,
            ).check_endpoint()
            self.cf_by_id, self.cf_run = {r.original_id: r for r in result.records}, result.run

    def rationales(self) -> list[dict[str, Any]]:
        """One rationale per example (``evidence``, ``rationale``; an LLM's also ``critique``,
        ``revision``, ``cost_usd``), from the teacher's salient words or an LLM."""
        config = self.config
        self.echo(f"writing rationales for {len(self.examples)} examples ({config.source})")
        self.provenance = {
            "source": config.source,
            "teacher": config.teacher,
            "teacher_fingerprint": getattr(self.verifier, "fingerprint", ""),
        }
        self.ledger_summary = {}
        if config.source == "teacher":
            evidence, method = salient_words_for(self.verifier, self.examples, self.labels, config.evidence_words)
            self.provenance["saliency"] = method
            return [
                {"evidence": ev, "rationale": render_rationale(self.names[y], ev) if ev else None}
                for ev, y in zip(evidence, self.labels)
            ]
        return self.llm_rationales()

    def llm_rationales(self) -> list[dict[str, Any]]:
        """Rationales from the chat model ``config.source`` names, cached and charged to the budget."""
        from codistill.counterfactuals.cache import Cache, Ledger
        from codistill.counterfactuals.generators.base import get_generator
        from codistill.explanations.sources import PROMPT_HASH, LLMRationales

        config = self.config
        cache = Cache(config.cache_dir) if config.use_cache else None
        ledger = Ledger(cache, config.to_dict())
        generator = get_generator(config.source)(self.cf_cfg, self.data.task)
        generator.attach(cache, ledger, self.budget)
        llm = LLMRationales(generator, self.names, config.evidence_words, config.critique, config.revise).explain(
            [e.text for e in self.examples], self.labels
        )
        generator.close()
        self.ledger_summary = ledger.summary()
        self.provenance.update(
            model=config.openai.model if config.source == "openai" else config.hf_chat.model, prompt=PROMPT_HASH
        )
        if cache is not None:
            cache.close()
        return llm

    def build_records(self, rationales: list[dict[str, Any]]) -> list[ExplanationRecord]:
        """One :class:`ExplanationRecord` per example, in the order of ``examples``."""
        source = self.config.source
        records = []
        for e, p, y, r in zip(self.examples, self.probs, self.labels, rationales):
            cf = self.cf_by_id.get(e.id)
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
                    counterfactual=render_counterfactual(
                        e.text, cf.counterfactual_text, self.names[cf.counterfactual_label]
                    )
                    if cf
                    else None,
                    critique=r.get("critique"),
                    revision=r.get("revision"),
                    source=source,
                    provenance={
                        **self.provenance,
                        "counterfactual_generator": cf.generator if cf else None,
                        **(
                            {"draft": r["rationale"], "cost_usd": round(r.get("cost_usd", 0.0), 8)}
                            if source != "teacher"
                            else {}
                        ),
                    },
                )
            )
        return records

    def summarise(self, records: list[ExplanationRecord], eval_records: list[ExplanationRecord]) -> dict[str, Any]:
        """What ``run.json`` holds: counts, validity, ledgers, cost, time, the budget's stop."""
        config, examples, budget = self.config, self.examples, self.budget
        cf_cost = float(self.cf_run.get("ledger", {}).get("cost_usd", 0.0))
        return {
            "task": self.data.task.name,
            "k": config.k,
            "seeds": config.seeds,
            "source": config.source,
            "teacher": config.teacher,
            "teacher_fingerprint": self.provenance["teacher_fingerprint"],
            "examples": len(self.train),
            "eval_examples": len(eval_records),
            "with_rationale": sum(r.rationale is not None for r in records),
            "with_counterfactual": sum(r.counterfactual is not None for r in records),
            "counterfactual_validity": round(len(self.cf_by_id) / len(examples), 4)
            if config.counterfactuals and examples
            else None,
            "counterfactual_ledger": self.cf_run.get("ledger"),
            "rationale_ledger": self.ledger_summary or None,
            "cost_usd": round(cf_cost + float(self.ledger_summary.get("cost_usd", 0.0)), 6),
            "seconds": round(time.monotonic() - self.t0, 2),
            "budget_usd": config.max_budget_usd,
            "stopped_by_budget": budget.stop_message() if budget.refused else None,
        }

    def write(
        self, train_records: list[ExplanationRecord], eval_records: list[ExplanationRecord], run: dict[str, Any]
    ) -> None:
        write_outputs(self.out_dir, self.config, train_records, eval_records, run)


def generate_explanations(config: ExplainConfig, *, verifier: Any = None, echo=print) -> ExplainResult:
    """Explain every example of the budgets ``(k, seed) for seed in seeds`` (and ``eval_examples``
    test examples). ``verifier`` replaces the teacher (tests pass scripted teachers)."""
    return ExplainRun(config, verifier=verifier, echo=echo).run()


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
