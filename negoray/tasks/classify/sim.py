"""The sim's classifier and its classify mutator: synthetic, deterministic given the request's rng.

Classifying, the sim knows the common sentiment words (`synthetic.COMMON`) and follows the first
`RULE_CAPACITY` word rules the prompt states (``In movie texts, "gripping" means positive.`` applies
to movie texts only, ``"gripping" means positive.`` everywhere); a rule outweighs a common word.
With no evidence it guesses. So a prompt's accuracy on a domain rises with the right rules for that
domain, and a prompt cannot cover every domain: what evolution, and the market, can act on.

Mutating, reflection turns misclassified examples into rules for their domain: words seen with one
true label only, those in an evaluative position first (new rules first, the oldest beyond
capacity dropped); a random mutation drops, flips, moves or re-scopes a rule.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, replace

from negoray.evolution.mutation_prompts import BEGIN, END, QUOTED_PROMPT
from negoray.tasks.classify.feedback import CURRENT_HEADER, FEEDBACK_HEADER, MISCLASSIFIED_HEADER
from negoray.tasks.classify.score import DOMAIN_LINE, LABELS_LINE
from negoray.tasks.classify.synthetic import COMMON

RULE_CAPACITY = 8
"""How many of a prompt's word rules the sim heeds (the first ones stated)."""
SLIP_RATE = 0.03
"""Chance of answering a random label whatever the evidence."""
CHATTY_RATE = 0.04
"""Chance of a reply naming no label, unless the prompt asks for the label only."""

_RULE = re.compile(
    r"(?:\bin\s+(?P<domain>[\w-]+)\s+(?:texts?|reviews?|posts?|tweets?|examples?)\s*,?\s*)?"
    r"[\"“'](?P<word>[\w' -]{1,30}?)[\"”']\s*(?:means|signals|indicates|suggests|is|=|->|→)\s*(?:an?\s+)?(?P<label>[\w/-]+)",
    re.I)
_LABEL_ONLY = re.compile(r"\b(?:label|one word)\s+only\b|\bonly\s+(?:the\s+)?label\b|\bexactly one\b", re.I)
_WORD = re.compile(r"[\w']+")
_STOP = frozenset("""a an and are as at be but by came feels for from i in is it it's just me mine my new ngl
    of on our out overall really the this to tonight was we week with after arrived dropped finish found
    honestly start thought""".split())
_EVALUATIVE_BEFORE = frozenset("was is feels felt seems looks it's a out".split())
"""Words after which a reflecting sim expects the evaluative word ("the plot was *gripping*")."""
_COMMON_WORDS = {w: label for label, words in COMMON.items() for w in words}
_WRONG = re.compile(r"^- \[(?P<domain>[^\]]+)\] true: (?P<label>[^,]+), predicted: [^|]*\| \"(?P<text>.*)\"$", re.M)


@dataclass(frozen=True)
class Rule:
    word: str
    label: str
    domain: str | None = None

    def sentence(self) -> str:
        said = f'"{self.word}" means {self.label}.'
        return f"In {self.domain} texts, {said}" if self.domain else said

    def applies(self, domain: str) -> bool:
        return self.domain is None or self.domain.lower() == domain.lower()


def read_rules(prompt: str) -> list[Rule]:
    """The word rules a prompt states, in order."""
    return [Rule(m["word"].strip().lower(), m["label"].lower(), m["domain"].lower() if m["domain"] else None)
            for m in _RULE.finditer(prompt)]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _field(user: str, start: str) -> str:
    line = next((ln for ln in user.splitlines() if ln.startswith(start)), "")
    return line[len(start):].strip()


def is_classification_request(user: str) -> bool:
    return "\nText: " in f"\n{user}" and f"\n{LABELS_LINE} " in user


def predict(prompt: str, text: str, domain: str, labels: list[str], rng: random.Random) -> str:
    """The label the sim settles on (before choosing how to say it)."""
    votes: Counter[str] = Counter()
    words = _words(text)
    padded = f" {' '.join(words)} "
    for w in words:
        if _COMMON_WORDS.get(w) in labels:
            votes[_COMMON_WORDS[w]] += 1
    for rule in read_rules(prompt)[:RULE_CAPACITY]:
        if rule.label in labels and rule.applies(domain) and f" {rule.word} " in padded:
            votes[rule.label] += 2
    if rng.random() < SLIP_RATE or not votes:
        return rng.choice(labels)
    best = max(votes.values())
    return rng.choice(sorted(label for label, v in votes.items() if v == best))


def classify_reply(prompt: str, user: str, rng: random.Random) -> str:
    """The sim's reply to a classification request (`negoray.tasks.classify.score.user_message`)."""
    labels = [label.strip() for label in _field(user, LABELS_LINE).split(",") if label.strip()]
    text = user.split("Text: ", 1)[1].split(f"\n\n{LABELS_LINE}", 1)[0] if "Text: " in user else ""
    if not labels:
        return "I cannot tell which labels are allowed."
    label = predict(prompt, text, _field(user, DOMAIN_LINE), labels, rng)
    if not _LABEL_ONLY.search(prompt) and rng.random() < CHATTY_RATE:
        return "It is hard to say; the text is mixed."
    return rng.choice((label, f"Label: {label}", f'{{"label": "{label}"}}', f"The sentiment is {label}."))


def is_mutation_request(user: str) -> bool:
    return CURRENT_HEADER in user and QUOTED_PROMPT.search(user) is not None


def write_prompt(prompt: str, rules: list[Rule]) -> str:
    """``prompt`` with its rule lines replaced by ``rules``, one a line, after the other lines."""
    kept = [ln for ln in prompt.splitlines() if not _RULE.search(ln)]
    return "\n".join([*kept, *(r.sentence() for r in rules)]).strip()


def _reflect(user: str, rules: list[Rule], rng: random.Random) -> list[Rule]:
    wrong = [(m["domain"].strip().lower(), m["label"].strip().lower(), _words(m["text"]))
             for m in _WRONG.finditer(user.split(MISCLASSIFIED_HEADER, 1)[-1])]
    seen_with: dict[str, set[str]] = {}
    for _, label, words in wrong:
        for w in words:
            seen_with.setdefault(w, set()).add(label)
    known = {(r.word, r.domain) for r in rules}
    counts: Counter[Rule] = Counter()
    evaluative: Counter[Rule] = Counter()
    for domain, label, words in wrong:
        scope = None if domain == "-" else domain
        for i, w in enumerate(words):
            if (len(w) > 2 and w not in _STOP and w not in _COMMON_WORDS and seen_with[w] == {label}
                    and (w, scope) not in known):
                counts[Rule(w, label, scope)] += 1
                evaluative[Rule(w, label, scope)] += i > 0 and words[i - 1] in _EVALUATIVE_BEFORE
    ranked = sorted(counts, key=lambda r: (-evaluative[r], -counts[r], rng.random()))
    return (ranked[:2] + rules)[:RULE_CAPACITY]


def _perturb(rules: list[Rule], rng: random.Random) -> list[Rule]:
    if not rules:
        return rules
    rules = list(rules)
    i = rng.randrange(len(rules))
    move = rng.choice(("drop", "flip", "front", "scope"))
    labels = sorted({r.label for r in rules})
    domains = sorted({r.domain for r in rules if r.domain})
    if move == "drop":
        del rules[i]
    elif move == "flip" and len(labels) > 1:
        rules[i] = replace(rules[i], label=rng.choice([lb for lb in labels if lb != rules[i].label]))
    elif move == "scope" and domains:
        rules[i] = replace(rules[i], domain=rng.choice([None, *domains]))
    else:  # to the front (the first rule to the back): which rules fit the capacity changes
        if i:
            rules.insert(0, rules.pop(i))
        else:
            rules.append(rules.pop(0))
    return rules


def mutate(user: str, rng: random.Random) -> str:
    """The reply to a classify mutation request: the new prompt between the requested markers."""
    current = QUOTED_PROMPT.search(user).group(1)  # type: ignore[union-attr]
    rules = read_rules(current)
    if FEEDBACK_HEADER in user:
        new, note = _reflect(user, rules, rng), "Diagnosis: added rules for the words the misclassified texts share."
    else:
        new, note = _perturb(rules, rng), "A variation with changed rules."
    child = write_prompt(current, new)
    if " ".join(child.split()).lower() == " ".join(current.split()).lower():
        child += "\nRead the whole text before deciding."
    return f"{note}\n{BEGIN}\n{child}\n{END}"
