"""What a classify mutation is shown, and how it is asked.

Reflective mutation sees the parent's overall and per-domain accuracy on the dev examples and a
sample of misclassified ones (text excerpt, true and predicted label, domain), as the users' V8
design does; random mutation sees the prompt only. The child prompt comes back between the same
markers as a negotiation strategy's (`negoray.evolution.mutation_prompts`), so one extractor reads both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from negoray.evolution.mutation_prompts import BEGIN, END, TASK_HEADER
from negoray.tasks.base import MutationKind, ScoredRecord
from negoray.tasks.classify.data import Example

CURRENT_HEADER = "## Current classification prompt"
FEEDBACK_HEADER = "## How it classified"
MISCLASSIFIED_HEADER = "Misclassified examples:"
EXCERPT_CHARS = 160
MISCLASSIFIED_SHOWN = 8
"""How many misclassified examples a reflective mutation is shown, unless configured."""

MUTATION_SYSTEM = ("You are an expert prompt engineer. You write the system prompts that text classifiers "
                   "follow. You answer with a complete classification prompt.")

_ANSWER_RULE = f"""Reply with the complete new prompt only, between a line {BEGIN} and a line {END}.
Where a word signals a label in one kind of text, say so as a rule, e.g. In movie texts, "gripping" means positive."""


@dataclass(frozen=True)
class Accuracy:
    correct: int
    scored: int

    @property
    def rate(self) -> float:
        return self.correct / self.scored if self.scored else float("nan")

    def __str__(self) -> str:
        return f"{self.rate:.1%} ({self.correct} of {self.scored})" if self.scored else "n/a (no scored examples)"


def accuracy(records: Sequence[ScoredRecord]) -> Accuracy:
    """Correct over scored records; errors have no score and are left out."""
    scored = [r for r in records if r.score is not None]
    return Accuracy(sum(1 for r in scored if r.score == 1.0), len(scored))


def per_domain(records: Sequence[ScoredRecord]) -> dict[str, Accuracy]:
    """Domain -> accuracy, domains sorted by name."""
    domains = sorted({r.fields.get("domain") or "" for r in records})
    return {d: accuracy([r for r in records if (r.fields.get("domain") or "") == d]) for d in domains}


def misclassified_sample(records: Sequence[ScoredRecord], n: int = MISCLASSIFIED_SHOWN) -> list[ScoredRecord]:
    """Up to ``n`` wrong or unparseable records, taken in turn from each domain (worst accuracy
    first, then by name), within a domain by example id: deterministic, and every weak domain shows."""
    acc = per_domain(records)
    queues = {d: sorted((r for r in records if r.score == 0.0 and (r.fields.get("domain") or "") == d),
                        key=lambda r: r.scenario_id)
              for d in sorted(acc, key=lambda d: (acc[d].rate, d))}
    sample: list[ScoredRecord] = []
    while len(sample) < n and any(queues.values()):
        for queue in queues.values():
            if queue and len(sample) < n:
                sample.append(queue.pop(0))
    return sample


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def feedback_text(records: Sequence[ScoredRecord], examples: Mapping[str, Example], n: int = MISCLASSIFIED_SHOWN) -> str:
    """The reflective mutation's view of a prompt's dev results."""
    domains = "\n".join(f"- {d or '(no domain)'}: {a}" for d, a in per_domain(records).items())
    wrong = "\n".join(
        f"- [{r.fields.get('domain') or '-'}] true: {r.fields.get('label')}, predicted: {r.fields.get('predicted')}"
        f" | \"{excerpt(examples[r.scenario_id].text) if r.scenario_id in examples else ''}\""
        for r in misclassified_sample(records, n)) or "- (none)"
    return f"Accuracy: {accuracy(records)}\nPer domain:\n{domains}\n{MISCLASSIFIED_HEADER}\n{wrong}"


def mutation_messages(kind: MutationKind, prompt: str, records: Sequence[ScoredRecord],
                      examples: Mapping[str, Example], n: int = MISCLASSIFIED_SHOWN) -> list[dict[str, str]]:
    """The messages of one classify mutation call."""
    current = f"{CURRENT_HEADER}\n{BEGIN}\n{prompt.strip()}\n{END}\n\n"
    if kind == "random":
        task = "Write a different variation of this prompt: change some of its rules, emphasis or wording."
        user = f"{current}{TASK_HEADER}\n{task}\n{_ANSWER_RULE}"
    elif kind == "reflective":
        task = ("Diagnose in one or two sentences why this prompt misclassifies these examples, "
                "then write an improved prompt.")
        user = f"{current}{FEEDBACK_HEADER}\n{feedback_text(records, examples, n)}\n\n{TASK_HEADER}\n{task}\n{_ANSWER_RULE}"
    else:
        raise ValueError(f'mutation kind must be "random" or "reflective", got {kind!r}')
    return [{"role": "system", "content": MUTATION_SYSTEM}, {"role": "user", "content": user}]
