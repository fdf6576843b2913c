"""The generator interface: (input text, teacher label, task) -> candidate texts.

LLM generators implement :meth:`Generator.propose` (one attempt for many inputs) and inherit the
verify-and-retry loop of :meth:`Generator.search`; the offline editor overrides ``search`` with
its own teacher-guided edit search. Either way the result for each input is an :class:`Outcome`:
the chosen verified counterfactual (or none) plus every failure with its reason.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from codistill.counterfactuals.generators.outcome import Chosen, Failure, Outcome, Proposal, Request, is_fact
from codistill.counterfactuals.parse import ParseError, parse_candidate
from codistill.counterfactuals.text import char_edit_ratio, edited_words, has_words
from codistill.counterfactuals.verify import candidate_probs
from codistill.errors import ConfigError
from codistill.utils.secrets import redact

if TYPE_CHECKING:
    from codistill.counterfactuals.config import CounterfactualConfig
    from codistill.counterfactuals.verify import Verifier
    from codistill.data import TaskSpec

__all__ = [  # the request and outcome types live in generators.outcome and are re-exported here
    "GENERATORS",
    "SELECTIONS",
    "Chosen",
    "Confirmation",
    "Failure",
    "Generator",
    "Outcome",
    "Proposal",
    "Request",
    "SearchState",
    "choose",
    "choose_many",
    "get_generator",
    "is_fact",
    "known_generators",
    "pick_confirmed",
    "rank",
    "register_generator",
]


#: rules choosing the winner among an input's verified flips (``CounterfactualConfig.selection``)
SELECTIONS = ("smallest", "nearest_boundary", "most_confident")


def rank(
    original: str,
    verdicts: Sequence[tuple[str, list[float], int]],
    selection: str,
    penalty: Callable[[str], float] | None = None,
) -> list[Chosen]:
    """Verified flips ``(text, probs, label)``, best first.

    ``smallest``: fewest edited words, then nearest the boundary (the informative side for
    distillation); ``nearest_boundary``: lowest teacher probability of the new label, then fewest
    edits; ``most_confident``: highest teacher probability of the new label, then fewest edits.
    ``penalty`` (e.g. a fluency penalty) breaks near-ties within the same edit size.
    """
    if selection not in SELECTIONS:
        raise ConfigError(f"unknown selection {selection!r}; known: {', '.join(SELECTIONS)}")
    scored = []
    for text, probs, label in verdicts:
        if not has_words(text):
            continue  # an edit that deleted every word: the teacher's label on "" means nothing
        n = edited_words(original, text)
        p = probs[label]
        extra = penalty(text) if penalty else 0.0
        if selection == "smallest":
            key: tuple[float, ...] = (n, p + extra, char_edit_ratio(original, text))
        elif selection == "nearest_boundary":
            key = (p + 0.02 * n + extra, n)
        else:  # most_confident: the mirror image of nearest_boundary
            key = (-p + 0.02 * n + extra, n)
        scored.append((key, text, probs, label, n))
    scored.sort(key=lambda s: s[0])
    return [
        Chosen(text=text, probs=list(probs), label=int(label), edited_words=n) for _, text, probs, label, n in scored
    ]


def choose(
    original: str,
    verdicts: Sequence[tuple[str, list[float], int]],
    target: int,
    selection: str,
    penalty: Callable[[str], float] | None = None,
) -> Chosen | None:
    """The winning candidate among verified flips (see :func:`rank`)."""
    ranked = rank(original, verdicts, selection, penalty)
    return ranked[0] if ranked else None


def choose_many(
    original: str,
    verdicts: Sequence[tuple[str, list[float], int]],
    selection: str,
    m: int,
    penalty: Callable[[str], float] | None = None,
) -> list[Chosen]:
    """Up to ``m`` diverse verified flips, the winner first (see :mod:`codistill.counterfactuals.diverse`)."""
    from codistill.counterfactuals.diverse import pick_diverse

    ranked = rank(original, verdicts, selection, penalty)
    if m <= 1:
        return ranked[:1]
    spread: list[str] = []  # the best flip of each class reached first: m counterfactuals spread over targets
    for c in ranked:
        if len(spread) < m and all(c.label != d.label for d in ranked if d.text in spread):
            spread.append(c.text)
    rest = [t for t in pick_diverse(original, [c.text for c in ranked if c.text not in spread], m) if t not in spread]
    keep = set(spread + rest[: m - len(spread)])
    return [c for c in ranked if c.text in keep]


@dataclass
class Confirmation:
    """One original's verified flips ``(text, probs, label)`` on their way to the exact teacher:
    texts it confirmed (their probabilities replaced by its own) and flips it vetoed."""

    original: str
    flips: list[tuple[str, list[float], int]]
    teacher_label: int
    penalty: Callable[[str], float] | None = None
    exact: set[str] = field(default_factory=set)
    targets: tuple[int, ...] = ()  # classes that count (empty: any other than teacher_label)
    vetoed: list[tuple[str, list[float]]] = field(default_factory=list)


def pick_confirmed(verifier: Verifier, jobs: Sequence[Confirmation], selection: str, m: int) -> list[list[Chosen]]:
    """:func:`choose_many` per job; with a screening verifier (one with ``confirm``) every pick is
    first confirmed by the exact teacher, batched over the jobs: a vetoed flip leaves its job's
    flips and the next one is picked, until every pick is the exact teacher's verdict."""
    confirm = getattr(verifier, "confirm", None)
    while True:
        picks = [choose_many(j.original, j.flips, selection, m, j.penalty) for j in jobs]
        if confirm is None:
            return picks
        todo = [(j, c.text) for j, ps in zip(jobs, picks) for c in ps if c.text not in j.exact]
        if not todo:
            return picks
        for (j, text), p in zip(todo, confirm([t for _, t in todo], [j.teacher_label for j, _ in todo])):
            j.exact.add(text)
            probs, label = [float(x) for x in p], int(np.argmax(p))
            if label != j.teacher_label and (not j.targets or label in j.targets):
                j.flips[:] = [(text, probs, label) if f[0] == text else f for f in j.flips]
            else:
                j.flips[:] = [f for f in j.flips if f[0] != text]
                j.vetoed.append((text, probs))


@dataclass
class SearchState:
    """The verify-and-retry loop's state: one outcome and the verified flips per request, the
    indices still without a flip, and why the search stopped early (a budget), if it did."""

    requests: Sequence[Request]
    outcomes: list[Outcome] = field(init=False)
    valid: list[list[tuple[str, list[float], int]]] = field(init=False)
    pending: list[int] = field(init=False)
    stopped: str | None = None

    def __post_init__(self) -> None:
        self.outcomes = [Outcome(r.example.id, None, 0, 0.0, []) for r in self.requests]
        self.valid = [[] for _ in self.requests]
        self.pending = list(range(len(self.requests)))


class Generator(ABC):
    """Base of every counterfactual generator (registered by name in :data:`GENERATORS`)."""

    name: ClassVar[str] = ""
    uses_api: ClassVar[bool] = False
    # the hooks the pipeline calls, in order: __init__, notes, attach, prepare, identity,
    # search (which calls propose), lm (the report's fluency model), close
    notes: list[str]  # one-line messages shown to the user once, before generation
    lm: Any = None  # a fluency model the quality report may reuse (``None``: the report fits its own)

    def __init__(self, config: CounterfactualConfig, task: TaskSpec) -> None:
        self.config = config
        self.task = task
        self.notes = []

    def attach(self, cache: Any, ledger: Any, budget: Any) -> None:
        """Receive the response cache, the spending ledger and the budget (LLM generators); a no-op by default."""
        return None

    def prepare(self, texts: Sequence[str], source: str) -> None:
        """See the task's pool once before generation (``source``: its fingerprint), e.g. to fit a model.

        A no-op by default."""
        return None

    # identity of everything that determines this generator's output (cache keys)
    def identity(self) -> dict[str, Any]:
        return {"generator": self.name}

    def propose(self, requests: Sequence[Request], attempt: int) -> list[list[Proposal]]:
        """One attempt: a list of proposals per request. LLM generators implement this."""
        raise NotImplementedError

    def close(self) -> None:
        """Release models / clients; a no-op by default."""
        return None

    def search(
        self, requests: Sequence[Request], verifier: Verifier, on_outcome: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        """Propose, parse, verify with the teacher, and retry with feedback up to ``max_attempts``.

        Each attempt: :meth:`propose` for the inputs without a flip, :meth:`_parse_proposals`,
        :meth:`_check_candidates` (the teacher), :meth:`_keep_picks` (the selection, confirmed by
        the exact teacher); then :meth:`_settle_unfinished` for the inputs left without one."""
        from codistill.counterfactuals.budget import BudgetExceeded

        state = SearchState(requests)
        for attempt in range(1, self.config.max_attempts + 1):
            if not state.pending or state.stopped:
                break
            try:
                proposals = self.propose([requests[i] for i in state.pending], attempt)
            except BudgetExceeded as exc:
                state.stopped = str(exc)
                break
            texts, owners = self._parse_proposals(state, proposals, attempt)
            if texts:
                self._check_candidates(state, texts, owners, verifier, attempt)
            self._keep_picks(state, verifier, attempt, on_outcome)
        self._settle_unfinished(state, on_outcome)
        return list(state.outcomes)

    def _parse_proposals(
        self, state: SearchState, proposals: list[list[Proposal]], attempt: int
    ) -> tuple[list[str], list[int]]:
        """The candidate texts of an attempt's replies and whose they are; an error or an
        unparseable reply is a failure (a budget error also stops the search after this attempt)."""
        texts, owners = [], []
        for i, props in zip(state.pending, proposals):
            out, req = state.outcomes[i], state.requests[i]
            out.attempts = attempt
            for prop in props:
                out.cost_usd += prop.cost_usd
                if prop.error:
                    if prop.error.startswith("budget:"):
                        state.stopped = prop.error
                    out.failures.append(Failure(req.example.id, attempt, prop.error.split(" ", 1)[0], prop.error))
                    continue
                try:
                    text = parse_candidate(prop.raw, req.example.text)
                except ParseError as exc:
                    out.failures.append(
                        Failure(req.example.id, attempt, exc.reason, str(exc), candidate=redact(prop.raw)[:500])
                    )
                    continue
                texts.append(text)
                owners.append(i)
        return texts, owners

    def _check_candidates(
        self, state: SearchState, texts: list[str], owners: list[int], verifier: Verifier, attempt: int
    ) -> None:
        """The teacher on every candidate of the attempt in one batch: flips are kept as valid,
        the rest are failures fed back to the next attempt."""
        probs = candidate_probs(verifier, texts, [state.requests[i].teacher_label for i in owners])
        for text, p, i in zip(texts, probs, owners):
            req, out = state.requests[i], state.outcomes[i]
            out.candidates_checked += 1
            label = int(p.argmax())
            if req.reached(label):
                state.valid[i].append((text, [float(x) for x in p], label))
            else:
                out.failures.append(
                    Failure(
                        req.example.id,
                        attempt,
                        "teacher:no_flip",
                        f"teacher still predicts {self.task.label_names[label]} (p={p[label]:.2f})",
                        candidate=text,
                        teacher_probs=[float(x) for x in p],
                    )
                )
                req.feedback.append({"text": text, "label": label, "prob": float(p[label])})

    def _keep_picks(
        self, state: SearchState, verifier: Verifier, attempt: int, on_outcome: Callable[[Outcome], None] | None
    ) -> None:
        """Pick each input's flips (confirmed by the exact teacher when screening; a veto is a
        failure fed back); inputs with a pick are done, the others stay pending."""
        requests, outcomes = state.requests, state.outcomes
        jobs = {
            i: Confirmation(
                requests[i].example.text, state.valid[i], requests[i].teacher_label, targets=requests[i].target_classes
            )
            for i in state.pending
            if state.valid[i]
        }
        picks = dict(
            zip(jobs, pick_confirmed(verifier, list(jobs.values()), self.config.selection, self.config.per_original))
        )
        for i, job in jobs.items():
            for text, p in job.vetoed:
                label = int(np.argmax(p))
                outcomes[i].failures.append(
                    Failure(
                        requests[i].example.id,
                        attempt,
                        "teacher:no_flip",
                        f"the exact teacher vetoed the screen's flip: it predicts {self.task.label_names[label]} "
                        f"(p={p[label]:.2f})",
                        candidate=text,
                        teacher_probs=p,
                    )
                )
                requests[i].feedback.append({"text": text, "label": label, "prob": p[label]})
            job.vetoed.clear()
        still = []
        for i in state.pending:
            if picks.get(i):
                out = outcomes[i]
                out.valid_candidates = len(state.valid[i])
                out.chosen, out.alternatives = picks[i][0], picks[i][1:]
                if on_outcome:
                    on_outcome(out)
            else:
                still.append(i)
        state.pending = still

    def _settle_unfinished(self, state: SearchState, on_outcome: Callable[[Outcome], None] | None) -> None:
        """Inputs without a flip: final unless a budget stop or an endpoint failure ended them
        (those are marked, never cached, and retried by a later run)."""
        for i in state.pending:
            out = state.outcomes[i]
            if state.stopped:
                out.meta["stopped"] = state.stopped  # not final: a resumed run with more budget retries it
            elif not all(is_fact(f.reason) for f in out.failures):
                out.meta["transient"] = True  # not final either: an outage may pass, a key or an endpoint be fixed
            elif on_outcome:
                on_outcome(out)


GENERATORS: dict[str, type[Generator]] = {}


def register_generator(name: str) -> Callable[[type[Generator]], type[Generator]]:
    def deco(cls: type[Generator]) -> type[Generator]:
        cls.name = name
        GENERATORS[name] = cls
        return cls

    return deco


def known_generators() -> list[str]:
    """Registered generator names (the built-in ones and any a program registered)."""
    # importing the modules registers them; heavy libraries are imported lazily inside them
    from codistill.counterfactuals.generators import editor, hf_chat, openai_chat  # noqa: F401

    return sorted(GENERATORS)


def get_generator(name: str) -> type[Generator]:
    known_generators()
    if name not in GENERATORS:
        raise ConfigError(f"unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name]
