"""Orchestration of ``codistill counterfactuals``: k-shot originals -> cache look-up -> teacher
probabilities -> generator search with teacher verification -> files and quality report.

:class:`CounterfactualRun` owns the run; :meth:`CounterfactualRun.run` calls its steps in order,
each a method a subclass may override. ``run_counterfactuals(config) -> RunResult`` is the
functional entry point the CLI, sweeps, ``explain`` and the Python API call. Building records and
writing the files (their list) is :mod:`codistill.counterfactuals.outputs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codistill.counterfactuals.budget import Budget
from codistill.counterfactuals.cache import Cache, Ledger
from codistill.counterfactuals.config import CounterfactualConfig
from codistill.counterfactuals.generators.base import Failure, Generator, Outcome, Request, get_generator, is_fact
from codistill.counterfactuals.outputs import (
    RunResult,
    best_unverified,
    build_records,
    default_output_dir,
    endpoint_failure,
    primary_records,
    write_outputs,
)
from codistill.counterfactuals.record import CounterfactualRecord
from codistill.counterfactuals.targets import named_target, targets_for
from codistill.errors import ConfigError
from codistill.utils.hashing import fingerprint

if TYPE_CHECKING:
    from codistill.counterfactuals.fluency import CausalLMScorer, NGramLM
    from codistill.data import Example, TaskData

__all__ = [
    "CounterfactualRun",
    "RunResult",
    "best_unverified",
    "build_records",
    "default_output_dir",
    "endpoint_failure",
    "run_counterfactuals",
    "write_outputs",
]


class CounterfactualRun:
    """One ``codistill counterfactuals`` run (the arguments are :func:`run_counterfactuals`'s).

    :meth:`run` calls its steps in order and each is a method a subclass may override: another
    search over the inputs the cache does not answer overrides :meth:`generate`, another report
    :meth:`quality`, other files :meth:`write`. Steps hand their results on as attributes
    (``data``, ``originals``, ``generator``, ``outcomes``, ``misses``, ...)."""

    data: TaskData
    originals: list[Example]
    generator: Generator
    cache: Cache | None
    ledger: Ledger
    budget: Budget
    out_dir: Path
    teacher_fp: str
    max_length: int
    named: int | None
    keys: dict[str, str]
    outcomes: dict[str, Outcome]
    misses: list[Example]

    def __init__(
        self,
        config: CounterfactualConfig,
        *,
        verifier: Any = None,
        write: bool = True,
        echo: Callable[..., Any] = print,
        originals: Iterable[Example] | None = None,
        data: TaskData | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.verifier = verifier
        self.write_files = write
        self.echo = echo
        self._originals_in = originals
        self._data_in = data
        self._budget_in = budget
        self.seconds_generating = self.cpu_seconds_generating = 0.0

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RunResult:
        self.t0 = time.monotonic()
        self.check()
        self.load_inputs()
        self.build_generator()
        self.plan()
        self.load_cached()
        if self.misses:
            self.generate()
        self.generator.close()
        records, failures = self.build_records()
        run = self.summarise(records)
        report = self.quality(records, failures, run)
        self.write(records, failures, report, run)
        if self.cache is not None:
            self.cache.close()
        return RunResult(self.out_dir, records, failures, report, run, [self.outcomes[e.id] for e in self.originals])

    # -- the steps --------------------------------------------------------------------------
    def check(self) -> None:
        """A teacher to verify with, and an output directory that is safe to write into."""
        config = self.config
        if self.verifier is None and not config.teacher:
            raise ConfigError("no teacher: pass --teacher PATH (a fine-tuned classifier directory)")
        self.out_dir = Path(config.output_dir).expanduser() if config.output_dir else default_output_dir(config)
        if self.write_files:  # before any teacher or API work: never write into a user's folder
            from codistill.utils.io import check_output_dir

            check_output_dir(self.out_dir, kind="counterfactuals")

    def load_inputs(self) -> None:
        """The task's data and the originals: given ones, your own texts, or the CoD k-shot draw."""
        from codistill.data import load_task, sample

        config = self.config
        self.data = data = self._data_in if self._data_in is not None else load_task(config.data)
        originals = self._originals_in
        if originals is None and config.data.owned:
            originals = data.pool  # your own texts: every one gets counterfactuals
        self.originals = (
            list(originals) if originals is not None else list(sample(data, config.k, config.seed, cod=True).examples)
        )

    def build_generator(self) -> None:
        """The configured generator, with the response cache, the spending ledger and the budget."""
        config = self.config
        self.generator = generator = get_generator(config.generator)(config, self.data.task)
        for note in generator.notes:
            self.echo(note)
        self.cache = Cache(config.cache_dir) if config.use_cache else None
        self.ledger = Ledger(self.cache, config.to_dict())
        self.budget = self._budget_in if self._budget_in is not None else Budget(config.max_budget_usd)
        generator.attach(self.cache, self.ledger, self.budget)
        generator.prepare([e.text for e in self.data.pool], self.data.fingerprint)

    def plan(self) -> None:
        """The cache key of each original: the generator's identity, the teacher's and the settings
        that decide what is kept."""
        from codistill.models.loading import scorer_fingerprint
        from codistill.teacher.meta import teacher_max_length

        config, verifier, data = self.config, self.verifier, self.data
        self.teacher_fp = verifier.fingerprint if verifier is not None else scorer_fingerprint(config.teacher)
        # the verifier reads as many tokens as the teacher was trained with (distillation does too)
        self.max_length = getattr(verifier, "max_length", None) or teacher_max_length(
            config.teacher, config.teacher_max_length
        )
        identity = {
            **self.generator.identity(),
            "teacher": self.teacher_fp,
            "selection": config.selection,
            "max_attempts": config.max_attempts,
            "labels": list(data.task.label_names),
            "teacher_max_length": self.max_length,
        }
        self.named = named_target(data.task.label_names, config.target_class) if config.target == "named" else None
        if data.num_labels > 2 or config.target != "runner_up":  # binary runner-up keys stay as they were
            identity["target"] = [config.target, self.named]
        if config.per_original > 1:  # keys of single-counterfactual runs stay as they were
            identity["per_original"] = config.per_original
        if config.verify.screen_dtype != "none":  # the search path can differ; what is kept is exact either way
            identity["screen"] = config.verify.model_dump(mode="json")
        self.keys = {e.id: fingerprint({**identity, "text": e.text}, length=32) for e in self.originals}

    def load_cached(self) -> None:
        """Outcomes the cache holds; the other originals are ``misses``."""
        self.outcomes = {}
        if self.cache is not None:
            for e in self.originals:
                hit = self.cache.get("outcomes", self.keys[e.id])
                if hit is not None:
                    out = Outcome.from_dict(hit)
                    if out.chosen is None and not all(is_fact(f.reason) for f in out.failures):
                        continue  # an endpoint failure an older version cached: ask again
                    out.original_id = e.id
                    out.meta["cached"] = True
                    self.outcomes[e.id] = out
        self.misses = [e for e in self.originals if e.id not in self.outcomes]

    def generate(self) -> None:
        """The teacher's view of the misses, then the generator's search with teacher verification."""
        verifier = self.load_verifier()
        t1, c1 = time.monotonic(), time.process_time()
        requests = self.requests(verifier)
        self.echo(
            f"generating counterfactuals for {len(self.misses)} originals "
            f"({len(self.originals) - len(self.misses)} cached) with {self.config.generator}"
        )
        self.search(requests, verifier)
        self.seconds_generating = time.monotonic() - t1
        self.cpu_seconds_generating = time.process_time() - c1

    def load_verifier(self) -> Any:
        """The verifier given, or the configured teacher (screened by a cheaper copy when configured)."""
        if self.verifier is None:
            from codistill.counterfactuals.verify import load_verifier

            self.echo(f"loading teacher {self.config.teacher}")
            self.verifier = load_verifier(self.config, max_length=self.max_length, num_labels=self.data.num_labels)
        return self.verifier

    def requests(self, verifier: Any) -> list[Request]:
        """One request per miss: the teacher's prediction and the classes a counterfactual may reach."""
        config = self.config
        probs = verifier.probs([e.text for e in self.misses])
        return [
            Request(
                e,
                int(p.argmax()),
                [float(x) for x in p],
                targets=targets_for(p, config.target, per_original=config.per_original, named=self.named),
            )
            for e, p in zip(self.misses, probs)
        ]

    def search(self, requests: list[Request], verifier: Any) -> None:
        """The generator's search; each final outcome is cached as it arrives."""
        by_id = {r.example.id: r for r in requests}

        def store(out: Outcome) -> None:
            req = by_id[out.original_id]
            out.meta["teacher_probs_original"] = req.teacher_probs
            out.meta["teacher_label_original"] = req.teacher_label
            if self.cache is not None and "stopped" not in out.meta and "transient" not in out.meta:
                self.cache.put("outcomes", self.keys[out.original_id], out.to_dict())

        for req in [r for r in requests if not r.targets]:  # target=named and the teacher already says it
            self.outcomes[req.example.id] = out = nothing_to_reach(req, self.data.task.label_names)
            store(out)
        for out in self.generator.search([r for r in requests if r.targets], verifier, on_outcome=store):
            req = by_id[out.original_id]
            out.meta.setdefault("teacher_probs_original", req.teacher_probs)
            out.meta.setdefault("teacher_label_original", req.teacher_label)
            self.outcomes[out.original_id] = out

    def build_records(self) -> tuple[list[CounterfactualRecord], list[dict[str, Any]]]:
        """Records (with the provenance distillation checks against its own task and teacher) and failure lines."""
        records, failures = build_records(self.config, self.originals, self.outcomes)
        for r in records:
            r.task, r.teacher_fingerprint, r.teacher_max_length = self.data.task.name, self.teacher_fp, self.max_length
        return records, failures

    def summarise(self, records: list[CounterfactualRecord]) -> dict[str, Any]:
        """``run.json``: counts, cache hits, the ledger, timings and why the run stopped, if it did."""
        config, cache, outcomes, verifier = self.config, self.cache, self.outcomes, self.verifier
        elapsed = time.monotonic() - self.t0
        t_gen = self.seconds_generating
        stopped = sorted({o.meta["stopped"] for o in outcomes.values() if "stopped" in o.meta})
        return {
            "task": self.data.task.name,
            "k": config.k,
            "seed": config.seed,
            "generator": config.generator,
            "teacher": config.teacher,
            "teacher_fingerprint": self.teacher_fp,
            "teacher_max_length": self.max_length,
            "originals": len(self.originals),
            "cached_outcomes": len(self.originals) - len(self.misses),
            "valid": len(primary_records(records)),
            "records": len(records),
            "seconds": round(elapsed, 3),
            "generation_seconds": round(t_gen, 3),
            # this process's CPU time: the cost on a shared machine
            "generation_cpu_seconds": round(self.cpu_seconds_generating, 3),
            "verified_per_second": round(sum(1 for e in self.misses if outcomes[e.id].chosen) / t_gen, 3)
            if t_gen
            else None,
            "teacher_texts_scored": getattr(verifier, "calls", 0) if verifier is not None else 0,
            "screening": verifier.report() if hasattr(verifier, "report") else None,
            "cache": {
                "path": str(cache.path) if cache else None,
                "hits": dict(cache.hits) if cache else {},
                "misses": dict(cache.misses) if cache else {},
            },
            "ledger": self.ledger.summary(),
            "budget_usd": config.max_budget_usd,
            "stopped_by_budget": stopped[0] if stopped else None,
            "endpoint_failure": endpoint_failure([outcomes[e.id] for e in self.misses]),
        }

    def quality(
        self, records: list[CounterfactualRecord], failures: list[dict[str, Any]], run: dict[str, Any]
    ) -> dict[str, Any]:
        """``report.json``: the quality report of the verified flips, with the run's cost and counts."""
        from codistill.counterfactuals.quality import quality_report

        config, outcomes = self.config, self.outcomes
        primary = primary_records(records)
        by_class: dict[int, int] = {}
        for e in self.originals:
            lab = outcomes[e.id].meta.get("teacher_label_original")
            if lab is not None:
                by_class[int(lab)] = by_class.get(int(lab), 0) + 1
        report = quality_report(
            primary,
            failures,
            originals=len(self.originals),
            originals_by_class=by_class,
            label_names=self.data.task.label_names,
            fluency=self.fluency_model(),
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
                    for e in self.originals
                    if outcomes[e.id].chosen and len(outcomes[e.id].alternatives) + 1 >= config.per_original
                ),
            }
        report["run"] = {
            k: run[k] for k in ("task", "k", "seed", "generator", "cached_outcomes", "seconds", "verified_per_second")
        }
        return report

    def fluency_model(self) -> CausalLMScorer | NGramLM:
        """The report's fluency scorer: ``report_lm``, else the generator's own, else an n-gram LM of the pool."""
        if self.config.report_lm:
            from codistill.counterfactuals.fluency import CausalLMScorer

            return CausalLMScorer(self.config.report_lm)
        if self.generator.lm is not None:
            return self.generator.lm
        from codistill.counterfactuals.fluency import NGramLM

        return NGramLM(e.text for e in self.data.pool)

    def write(
        self,
        records: list[CounterfactualRecord],
        failures: list[dict[str, Any]],
        report: dict[str, Any],
        run: dict[str, Any],
    ) -> None:
        """Close the ledger into ``run`` and, unless the run was asked not to write, write the output directory."""
        self.ledger.finish(run)
        if self.write_files:
            write_outputs(self.out_dir, self.config, records, failures, report, run)


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
    The run's steps are :class:`CounterfactualRun`'s.
    """
    return CounterfactualRun(
        config, verifier=verifier, write=write, echo=echo, originals=originals, data=data, budget=budget
    ).run()


def nothing_to_reach(req: Request, label_names: Sequence[str]) -> Outcome:
    """The outcome of an original whose only target the teacher already predicts (``target=named``)."""
    reason = f"the teacher already predicts {label_names[req.teacher_label]}"
    return Outcome(req.example.id, None, 0, 0.0, [Failure(req.example.id, 0, "target:teacher_label", reason)])
