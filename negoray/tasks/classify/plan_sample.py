"""What a classify run's calls look like, for `negoray plan` (`ClassifyTask.plan_sample`): each seed
prompt on each dev example as the task asks it (the agent prompt, then one example), a label as the
reply; and the mutation requests the task words, the reflective one shown a misclassified sample."""

from __future__ import annotations

from collections.abc import Sequence

from negoray.evolution.mutation_prompts import BEGIN, END
from negoray.tasks.base import PlanSample, ScoredRecord
from negoray.tasks.classify import feedback
from negoray.tasks.classify.data import Example
from negoray.tasks.classify.score import classify_messages
from negoray.tasks.classify.seeds import SEED_PROMPTS

SAMPLE_EXAMPLES = 200
"""Dev examples per seed prompt in the sample at most (an agent's later calls share its prompt as these do)."""

DIAGNOSIS = ("The prompt has no rule for words whose sentiment depends on the domain, so it mislabels the "
             "tweets and movie reviews that use them.")
"""A typical reflective diagnosis ("one or two sentences"), before the new prompt."""


def _misclassified(dev: Sequence[Example], labels: Sequence[str]) -> list[ScoredRecord]:
    """Every dev example classified wrong: the reflective feedback then shows its full sample."""
    return [ScoredRecord(e.id, 0, 0.0, fields={"domain": e.domain, "label": e.label, "verdict": "wrong",
                                               "predicted": labels[(labels.index(e.label) + 1) % len(labels)]})
            for e in dev]


def plan_sample(dev: Sequence[Example], labels: Sequence[str], show_domain: bool, misclassified: int) -> PlanSample:
    """The seed prompts on the ``dev`` examples (the first `SAMPLE_EXAMPLES`), seed after seed (an agent
    classifies its dev examples one after another), answered with a label; one random and one
    reflective mutation of each seed."""
    dev = dev[:SAMPLE_EXAMPLES]
    requests = [classify_messages(p, e, labels, show_domain) for p in SEED_PROMPTS.values() for e in dev]
    records = _misclassified(dev, labels)
    examples = {e.id: e for e in dev}
    mutations, answers = [], []
    for prompt in SEED_PROMPTS.values():
        answer = f"{BEGIN}\n{prompt}\n{END}"
        mutations.append(feedback.mutation_messages("random", prompt, records, examples, misclassified))
        mutations.append(feedback.mutation_messages("reflective", prompt, records, examples, misclassified))
        answers += [answer, f"{DIAGNOSIS}\n{answer}"]
    return PlanSample(requests, list(labels), f"a label ({' / '.join(labels)})", mutations, answers)
