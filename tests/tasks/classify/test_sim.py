import asyncio
import random

from negoray.chat import ChatParams
from negoray.evolution.mutation import extract_strategy
from negoray.sim.model import SimModel, sim_reply_text
from negoray.tasks.classify.data import Example, load_splits
from negoray.tasks.classify.feedback import mutation_messages, per_domain
from negoray.tasks.classify.parse import parse_label
from negoray.tasks.classify.score import classify_messages, classify_one
from negoray.tasks.classify.sim import RULE_CAPACITY, Rule, predict, read_rules
from negoray.tasks.classify.synthetic import CUES, LABELS, SHIPPED

SPLITS = load_splits(SHIPPED, LABELS, {"dev": 0.5, "val": 0.25}, 1)
BASE = "You classify sentiment. Answer with the label only."
MOVIE_RULES = "\n".join(f'In movie texts, "{w}" means {label}.' for label in LABELS for w in CUES["movie"][label][:3])


def accuracy_by_domain(prompt, examples):
    async def go():
        return [await classify_one(prompt, e, SimModel(), i, 0, labels=LABELS) for i, e in enumerate(examples)]
    return {d: a.rate for d, a in per_domain(asyncio.run(go())).items()}


def test_reads_scoped_and_unscoped_rules():
    prompt = 'Rules:\nIn movie texts, "unpredictable" means positive.\n"Flimsy" signals negative; \'mid\' = negative'
    assert read_rules(prompt) == [Rule("unpredictable", "positive", "movie"), Rule("flimsy", "negative"), Rule("mid", "negative")]


def test_a_rule_applies_in_its_domain_only_and_outweighs_a_common_word():
    prompt = 'In movie texts, "unpredictable" means positive.'

    def positives(text, domain):
        return sum(predict(prompt, text, domain, list(LABELS), random.Random(i)) == "positive" for i in range(200))

    assert positives("An unpredictable plot. Just bad.", "movie") > 185  # the rule beats "bad", bar slips
    assert positives("An unpredictable plot. Just bad.", "product") < 15  # no rule there: "bad" decides
    assert 60 < positives("Unpredictable.", "product") < 140  # no evidence: a guess


def test_domain_rules_raise_accuracy_in_that_domain():
    before, after = accuracy_by_domain(BASE, SPLITS["dev"]), accuracy_by_domain(f"{BASE}\n{MOVIE_RULES}", SPLITS["dev"])
    assert after["movie"] > before["movie"] + 0.15
    assert all(abs(after[d] - before[d]) < 0.1 for d in before if d != "movie")


def test_only_the_first_rules_up_to_capacity_count():
    filler = "\n".join(f'"zzz{i}" means positive.' for i in range(RULE_CAPACITY))
    assert accuracy_by_domain(f"{BASE}\n{filler}\n{MOVIE_RULES}", SPLITS["dev"])["movie"] < \
        accuracy_by_domain(f"{BASE}\n{MOVIE_RULES}\n{filler}", SPLITS["dev"])["movie"] - 0.15


def test_deterministic_given_the_seed_and_reachable_through_the_sim_model():
    example = Example("x", "The plot was gripping.", "positive", "movie")
    messages = classify_messages(BASE, example, LABELS)
    replies = {sim_reply_text(messages, ChatParams(seed=5)) for _ in range(3)}
    assert len(replies) == 1 and parse_label(replies.pop(), LABELS) in LABELS


def test_reflective_mutation_climbs_and_random_does_not_invent_rules():
    dev = SPLITS["dev"]
    by_id = {e.id: e for e in dev}
    sim = SimModel()

    async def evaluate(prompt, generation):
        return [await classify_one(prompt, e, sim, generation * 1000 + i, 0, labels=LABELS) for i, e in enumerate(dev)]

    async def climb(kind):
        prompt, records = BASE, await evaluate(BASE, 0)
        start = best = sum(r.score for r in records) / len(records)
        for g in range(1, 5):
            reply = await sim(mutation_messages(kind, prompt, records, by_id), ChatParams(temperature=0.8, seed=g))
            child = extract_strategy(reply.text)
            child_records = await evaluate(child, g)
            score = sum(r.score for r in child_records) / len(child_records)
            if score >= best:
                prompt, records, best = child, child_records, score
        return start, best, prompt

    start, best, prompt = asyncio.run(climb("reflective"))
    assert best > start + 0.08 and read_rules(prompt)
    assert not read_rules(asyncio.run(climb("random"))[2])


def test_negotiation_requests_are_not_taken_for_classification():
    from negoray.tasks.negotiation.mutation import random_mutation
    reply = sim_reply_text(random_mutation("Open at 80%. Never accept less than 50%. Concede slowly."), ChatParams(seed=1))
    assert "%" in reply and "means" not in reply
