"""A task defined outside the package, for the tests: one call per scenario (a word), and a score
that is a pure function of the prompt, the scenario and the reply, so the same run replays exactly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from negoray.chat import CallUsage, ChatFailure, ChatParams, derive_seed
from negoray.config import ExperimentConfig, ExperimentConfigError
from negoray.tasks.base import Chats, Column, MutationKind, ScoredRecord, mean_score
from negoray.tasks.negotiation.mutation import random_mutation

WORDS = ("apple", "river", "stone", "cloud", "ember", "maple", "frost", "dune")


@dataclass(frozen=True)
class Word:
    id: str
    word: str


class EchoTask:
    name = "echo"
    counterpart = None
    record_columns = (Column("word", "string"), Column("reply_length", "int32"))

    def __init__(self, config: ExperimentConfig, prefix: str) -> None:
        s = config.scenarios
        pool = [Word(f"{prefix}{i}", WORDS[i % len(WORDS)]) for i in range(s.dev + s.val + s.test)]
        self._splits = {"dev": pool[:s.dev], "val": pool[s.dev:s.dev + s.val], "test": pool[s.dev + s.val:]}

    def splits(self) -> Mapping[str, Sequence[Word]]:
        return self._splits

    async def evaluate(self, prompt: str, scenario: Word, chats: Chats, seed: int | None, replicate: int) -> ScoredRecord:
        try:
            reply = await chats.agent([{"role": "system", "content": prompt},
                                       {"role": "user", "content": f"Say the word {scenario.word}."}],
                                      ChatParams(temperature=0.0, max_tokens=16, seed=seed, replicate=replicate))
        except ChatFailure as e:
            return ScoredRecord(scenario.id, replicate, None, (CallUsage.of("agent", 0, None),), error=str(e))
        score = derive_seed(prompt, scenario.word, reply.text) % 101 / 100
        return ScoredRecord(scenario.id, replicate, score, (CallUsage.of("agent", 0, reply),),
                            fields={"word": scenario.word, "reply_length": len(reply.text)})

    def seed_strategies(self) -> Mapping[str, str]:
        return {f"style{i}": f"You answer every request with the word asked for, style {i}; offer nothing else."
                for i in range(4)}

    def mutation_messages(self, kind: MutationKind, parent_prompt: str, records: Sequence[ScoredRecord],
                          scenarios: Mapping[str, Word]) -> list[dict[str, str]]:
        return random_mutation(parent_prompt + f"\n(mean score so far: {mean_score(records):.2f})"
                               if kind == "reflective" else parent_prompt)

    def extract_prompt(self, reply: str) -> str | None:
        return reply.strip() or None

    def check_prompt(self, child: str | None, parent: str) -> str | None:
        return "empty" if not child else ("identical to the parent" if child == parent else None)

    def record_row(self, record: ScoredRecord) -> dict[str, Any]:
        return dict(record.fields)

    def summary(self, records: Sequence[ScoredRecord]) -> dict[str, float]:
        return {}


def make_task(config: ExperimentConfig, options: Mapping[str, Any]) -> EchoTask:
    unknown = set(options) - {"prefix"}
    if unknown:
        raise ExperimentConfigError(f"task.{sorted(unknown)[0]}: unknown option; allowed: prefix")
    return EchoTask(config, str(options.get("prefix", "w")))
