"""The classify task behind the `Task` interface: each example is a client, one call scores it.

``[task]`` options (all optional): ``data`` (one JSONL file, drawn into splits; default the shipped
synthetic set) or ``files`` (``{dev, val, test}`` files; in a config file, relative to its folder),
``fractions`` (``{dev, val}`` shares of ``data``, default 0.5 / 0.25), ``split_seed`` (default the
config's ``seed``), ``labels`` (default positive / negative), ``show_domain`` (tell the model the
text's domain; default true), ``temperature`` (default the config's ``negotiation_temperature``, the
agents' one), ``max_tokens`` (default the config's) and ``misclassified`` (how many a reflective
mutation is shown; default 8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from negoray.chat import ChatParams, Message
from negoray.config import ExperimentConfig, ExperimentConfigError
from negoray.evolution.mutation import check_prompt_text, extract_strategy
from negoray.tasks.base import Chats, Column, MutationKind, PlanSample, ScoredRecord
from negoray.tasks.classify import feedback
from negoray.tasks.classify.data import DEFAULT_FRACTIONS, SPLITS, Example, ExampleFileError, load_splits
from negoray.tasks.classify.score import RECORD_COLUMNS, classify_one
from negoray.tasks.classify.seeds import SEED_PROMPTS
from negoray.tasks.classify.synthetic import LABELS, SHIPPED

OPTIONS = ("data", "files", "fractions", "split_seed", "labels", "show_domain", "temperature", "max_tokens",
           "misclassified")


class ClassifyTask:
    """Multi-domain text classification (V8): score 1 for the right label, 0 for a wrong or
    unparseable one, no score for an infrastructure error."""

    name = "classify"
    counterpart: str | None = None
    record_columns: Sequence[Column] = RECORD_COLUMNS
    record_noun = "classification"
    calls_per_evaluation = 1.0
    """One call per example (the planner's figure, with `plan_sample`; `negoray.tasks.base.PlannedTask`)."""

    def __init__(self, splits: Mapping[str, Sequence[Example]], labels: Sequence[str], params: ChatParams,
                 show_domain: bool = True, misclassified: int = feedback.MISCLASSIFIED_SHOWN) -> None:
        self._splits = {name: tuple(splits[name]) for name in SPLITS}
        self.labels = tuple(labels)
        self.params = params
        self.show_domain = show_domain
        self.misclassified = misclassified

    def splits(self) -> Mapping[str, Sequence[Example]]:
        return self._splits

    async def evaluate(self, prompt: str, scenario: Example, chats: Chats, seed: int | None,  # type: ignore[override]
                       replicate: int) -> ScoredRecord:
        return await classify_one(prompt, scenario, chats.agent, seed, replicate, labels=self.labels,
                                  params=self.params, show_domain=self.show_domain)

    def seed_strategies(self) -> Mapping[str, str]:
        return SEED_PROMPTS

    def mutation_messages(self, kind: MutationKind, parent_prompt: str, records: Sequence[ScoredRecord],  # type: ignore[override]
                          scenarios: Mapping[str, Example]) -> list[Message]:
        return feedback.mutation_messages(kind, parent_prompt, records, scenarios, self.misclassified)

    def extract_prompt(self, reply: str) -> str | None:
        return extract_strategy(reply)

    def check_prompt(self, child: str | None, parent: str) -> str | None:
        return check_prompt_text(child, parent)

    def record_row(self, record: ScoredRecord) -> dict[str, Any]:  # type: ignore[override]
        return {c.name: record.fields.get(c.name) for c in RECORD_COLUMNS}

    def plan_sample(self) -> PlanSample:
        from negoray.tasks.classify.plan_sample import plan_sample  # the planner's, on use

        return plan_sample(self._splits["dev"], self.labels, self.show_domain, self.misclassified)

    def report_sections(self, tables: Mapping[str, Any]) -> list[str]:
        from negoray.tasks.classify.report import report_sections  # the report's helpers, on use

        return report_sections(tables)

    def summary(self, records: Sequence[ScoredRecord]) -> dict[str, float]:  # type: ignore[override]
        scored = [r for r in records if r.score is not None]
        unparseable = sum(1 for r in scored if r.fields.get("verdict") == "unparseable")
        return {"accuracy": feedback.accuracy(records).rate,
                "unparseable_rate": unparseable / len(scored) if scored else float("nan")}


def _option(options: Mapping[str, Any], key: str, kind: type | tuple[type, ...], allowed: str, default: Any) -> Any:
    value = options.get(key, default)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ExperimentConfigError(f"task.{key}: expected {allowed}, got {value!r}")
    return value


def make_task(config: ExperimentConfig, options: Mapping[str, Any]) -> ClassifyTask:
    """The classify task from the config's ``[task]`` table; bad options name the ``task.<key>``."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ExperimentConfigError(f"task.{unknown[0]}: not a classify option; allowed: {', '.join(OPTIONS)}")
    labels = _option(options, "labels", list, "a list of at least two distinct label strings", list(LABELS))
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(isinstance(x, str) and x.strip() for x in labels):
        raise ExperimentConfigError(f"task.labels: expected a list of at least two distinct label strings, got {labels!r}")
    if "data" in options and "files" in options:
        raise ExperimentConfigError("task.files: give either task.data (one file, drawn into splits) or task.files, not both")
    files = _option(options, "files", dict, "a table with dev, val and test file paths", None) if "files" in options else None
    if files is not None and (set(files) != set(SPLITS) or not all(isinstance(v, str) for v in files.values())):
        raise ExperimentConfigError(f"task.files: expected a table with exactly dev, val and test paths, got {files!r}")
    fractions = _option(options, "fractions", dict, "a table {dev = share, val = share}", DEFAULT_FRACTIONS)
    seed = _option(options, "split_seed", int, "an integer", config.seed)
    try:
        splits = load_splits(files or _option(options, "data", str, "the path of a JSONL file", str(SHIPPED)),
                             labels, fractions, seed)
    except (ExampleFileError, ValueError) as e:
        raise ExperimentConfigError(f"task.{'files' if files else 'data'}: {e}") from None
    temperature = _option(options, "temperature", (int, float), "a number >= 0", config.negotiation_temperature)
    max_tokens = _option(options, "max_tokens", int, "an integer >= 1", config.max_tokens)
    misclassified = _option(options, "misclassified", int, "an integer >= 0", feedback.MISCLASSIFIED_SHOWN)
    if temperature < 0 or max_tokens < 1 or misclassified < 0:
        raise ExperimentConfigError("task.temperature >= 0, task.max_tokens >= 1 and task.misclassified >= 0 required, "
                                    f"got {temperature!r}, {max_tokens!r}, {misclassified!r}")
    return ClassifyTask(splits, labels, ChatParams(temperature=float(temperature), max_tokens=max_tokens),
                        _option(options, "show_domain", bool, "true or false", True), misclassified)
