"""The task interface: what the evolution machinery needs from a task (negotiation, classify, ...).

A task scores one agent prompt on one scenario through a `ChatFn` (one call or a dialogue) and
says everything else the machinery must know about it: its scenario splits (the market's clients),
its seed strategies, its fixed counterpart (if any), what reflective mutation is shown, how mutation
is worded and checked, and its own per-record columns. Selection, gating, mutation, the runtime and
the results only ever see a task through this interface.

A task is built by a `TaskFactory` from the experiment config and the config's ``[task]`` table
(`negoray.tasks.registry` resolves ``task = "..."`` to a factory).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from negoray.chat import CallUsage, ChatFn, Message

if TYPE_CHECKING:
    from negoray.config import ExperimentConfig

MutationKind = Literal["random", "reflective"]

ColumnType = Literal["string", "int32", "int64", "float64", "bool"]
"""The types a task's own column can have (Arrow types of the same name)."""


@dataclass(frozen=True)
class Column:
    """One task-specific column of the per-record table (``negotiations``)."""

    name: str
    type: ColumnType
    nullable: bool = True
    after: str | None = None
    """The table's own column it follows (task columns with the same ``after`` keep their order);
    None: after all of the table's own columns."""


@runtime_checkable
class TaskScenario(Protocol):
    """A scenario (a market client): anything with a stable, unique ``id``."""

    @property
    def id(self) -> str: ...


@runtime_checkable
class TaskRecord(Protocol):
    """What the machinery reads from any task's record of one evaluation.

    ``score`` is in [0, 1], or None exactly when ``error`` says why the evaluation met an
    infrastructure failure (an error is never a score; ``bool(record.error)`` is the error flag).
    ``calls`` are the model calls it made, for the ``calls`` table and usage accounting."""

    scenario_id: str
    replicate: int
    error: str | None

    @property
    def score(self) -> float | None: ...

    @property
    def calls(self) -> Sequence[CallUsage]: ...


@dataclass(frozen=True)
class ScoredRecord:
    """A ready-made `TaskRecord` for tasks without a record type of their own (one call per
    scenario, say; `CallUsage.of` builds its calls): the score, the calls and the task's own fields (its `Task.record_columns`)."""

    scenario_id: str
    replicate: int
    score: float | None
    calls: tuple[CallUsage, ...] = ()
    error: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.score is None) != (self.error is not None):
            raise ValueError(f"scenario {self.scenario_id}: a record has a score or an error, not both or neither"
                             f" (score={self.score!r}, error={self.error!r})")
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"scenario {self.scenario_id}: score must be in [0, 1], got {self.score!r}")


@dataclass(frozen=True)
class Chats:
    """The chats one evaluation runs on: the agent's, and the counterpart's (the opponent role) for
    tasks that have a counterpart (None: the agent's chat serves it too)."""

    agent: ChatFn
    counterpart: ChatFn | None = None


class Task(Protocol):
    """A task the evolution machinery can evolve prompts for."""

    name: str
    """The task's name, as in ``task = "..."`` (recorded with the results)."""

    counterpart: str | None
    """The fixed counterpart's prompt (negotiation: the opponent), or None for a task without one."""

    record_columns: Sequence[Column]
    """The task's own columns of the per-record table, filled by `record_row`."""

    # Optional: ``outcomes: Sequence[str]``, the values of the table's ``outcome`` column its records
    # have besides ``scored`` and ``error`` (negotiation: agreed, timeout), given by `record_row`.

    def splits(self) -> Mapping[str, Sequence[TaskScenario]]:
        """The ``dev``, ``val`` and ``test`` scenarios; the same on every call (built from the config)."""
        ...

    async def evaluate(self, prompt: str, scenario: TaskScenario, chats: Chats, seed: int | None,
                       replicate: int) -> TaskRecord:
        """Score ``prompt`` on ``scenario``. A `negoray.chat.ChatFailure` must become a record with
        ``error`` set, never a score; any other exception is a bug and propagates."""
        ...

    def seed_strategies(self) -> Mapping[str, str]:
        """Generation 0: name -> prompt, in a fixed order."""
        ...

    def mutation_messages(self, kind: MutationKind, parent_prompt: str, records: Sequence[TaskRecord],
                          scenarios: Mapping[str, TaskScenario]) -> list[Message]:
        """The messages of one mutation call; ``reflective`` is shown the parent's results
        (``records`` on the dev ``scenarios``, by id: overall figures and its worst cases)."""
        ...

    def extract_prompt(self, reply: str) -> str | None:
        """The child prompt in a mutation reply, or None if there is none."""
        ...

    def check_prompt(self, child: str | None, parent: str) -> str | None:
        """Why ``child`` is not a usable prompt, or None if it is."""
        ...

    def record_row(self, record: TaskRecord) -> dict[str, Any]:
        """The values of `record_columns` for one record; it may also give the generic columns it
        knows better than their defaults (`negoray.results.rows.RECORD_DEFAULTS`; negotiation does)."""
        ...

    def summary(self, records: Sequence[TaskRecord]) -> dict[str, float]:
        """The task's own figures over a set of records (negotiation: ``deal_rate``, ``pareto_rate``;
        means leave errors out): for the generations table, and as ``dev_<name>`` for an agent's dev
        records in the agents table. The keys are the same for any records, none included: the
        tables' columns for them are read from ``summary(())`` (`negoray.results.schema.task_table_columns`)."""
        ...


@runtime_checkable
class ReportingTask(Protocol):
    """A task with report sections of its own (optional; the report calls the hook through the task,
    so the results layer imports no task module)."""

    def report_sections(self, tables: Mapping[str, Any]) -> list[str]:
        """Markdown lines of the task's own sections, from the results ``tables`` (``negotiations``
        without ``transcript``, ``agents``, ``generations``: `pyarrow.Table` with the task's columns)."""
        ...


@dataclass(frozen=True)
class PlanSample:
    """A task's typical calls, for `negoray plan` to count (`PlannedTask.plan_sample`): its own
    prompts on its own scenarios, and the replies a model typically gives them."""

    requests: Sequence[Sequence[Message]]
    """Evaluation requests in the order a run makes them (the planner counts their prompt tokens and
    the prefix each shares with an earlier one)."""
    replies: Sequence[str]
    """Typical replies to them (classify: each label once)."""
    reply: str
    """What a reply is, in words, for the plan's assumptions ("a label (positive / negative)")."""
    mutation_requests: Sequence[Sequence[Message]]
    """Mutation requests, random and reflective, as the task words them."""
    mutation_replies: Sequence[str]
    """Typical answers to them (a whole prompt between the markers, reflective with a diagnosis)."""


@runtime_checkable
class PlannedTask(Protocol):
    """A task that tells `negoray plan` what its evaluations cost (optional: without it the planner
    plans V7's negotiations, from ``max_rounds`` and the negotiation prompts)."""

    calls_per_evaluation: float
    """Model calls of one evaluation, on average (classify: 1)."""

    def plan_sample(self) -> PlanSample:
        """Typical requests and replies of this task as configured (`PlanSample`)."""
        ...


RECORD_NOUN = "evaluation"
"""A record's word for a task that names none (its optional ``record_noun``)."""


def record_noun(task: object) -> str:
    """The task's word for one record, for plans and reports (its ``record_noun``: the negotiation
    task's "negotiation", classify's "classification"); `RECORD_NOUN` where it names none."""
    return getattr(task, "record_noun", RECORD_NOUN)


def plural(noun: str, n: float = 2) -> str:
    """``noun`` for ``n`` of it: "negotiation" -> "negotiations", "match" -> "matches", n = 1 as is."""
    if n == 1:
        return noun
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


class TaskFactory(Protocol):
    """Builds a task from the experiment config and its ``[task]`` table; bad options raise
    `negoray.config.ExperimentConfigError` naming the ``task.<key>`` and what is allowed."""

    def __call__(self, config: ExperimentConfig, options: Mapping[str, Any]) -> Task: ...


PATH_OPTIONS_ATTRIBUTE = "path_options"
"""A factory may name the ``[task]`` options that are file paths (a path, or a table or list of
paths) in this attribute; `negoray.config.load_config` resolves relative ones against the config
file's folder (`negoray.tasks.registry.resolve_paths`)."""


def scores(records: Iterable[TaskRecord]) -> list[float]:
    """The scores of the records that have one (errors are not scores), in order."""
    return [r.score for r in records if r.score is not None]


def mean_score(records: Iterable[TaskRecord]) -> float:
    """Mean score over the scored records; NaN if every one errored."""
    values = scores(records)
    return statistics.fmean(values) if values else math.nan


def errors(records: Iterable[TaskRecord]) -> int:
    """How many records have no score (infrastructure errors)."""
    return sum(1 for r in records if r.score is None)


def scores_by_scenario(records: Iterable[TaskRecord]) -> dict[str, float]:
    """Scenario id -> score, for the scored records only."""
    return {r.scenario_id: r.score for r in records if r.score is not None}
