from negoray.tasks.base import ScoredRecord
from negoray.tasks.classify.data import Example
from negoray.tasks.classify.feedback import (CURRENT_HEADER, FEEDBACK_HEADER, accuracy, misclassified_sample,
                                             mutation_messages, per_domain)
from negoray.evolution.mutation import extract_strategy


def rec(i, domain, score, predicted="negative"):
    if score is None:
        return ScoredRecord(f"e{i}", 0, None, error="timeout", fields={"domain": domain, "label": "positive", "verdict": "error"})
    return ScoredRecord(f"e{i}", 0, score, fields={"domain": domain, "label": "positive",
                                                  "predicted": "positive" if score else predicted})


RECORDS = [rec(0, "movie", 1.0), rec(1, "movie", 0.0), rec(2, "movie", 0.0), rec(3, "tweet", 1.0), rec(4, "tweet", 0.0),
           rec(5, "tweet", None), rec(6, "product", 1.0)]
EXAMPLES = {f"e{i}": Example(f"e{i}", f"text {i} " + "word " * (60 if i == 1 else 1), "positive") for i in range(7)}


def test_accuracy_leaves_errors_out():
    assert (accuracy(RECORDS).correct, accuracy(RECORDS).scored) == (3, 6)
    assert {d: str(a) for d, a in per_domain(RECORDS).items()} == {
        "movie": "33.3% (1 of 3)", "product": "100.0% (1 of 1)", "tweet": "50.0% (1 of 2)"}


def test_the_sample_takes_each_weak_domain_in_turn():
    assert [r.scenario_id for r in misclassified_sample(RECORDS, 2)] == ["e1", "e4"]
    assert [r.scenario_id for r in misclassified_sample(RECORDS, 9)] == ["e1", "e4", "e2"]


def test_reflective_shows_accuracy_domains_and_excerpts():
    parent = "You classify sentiment."
    user = mutation_messages("reflective", parent, RECORDS, EXAMPLES)[1]["content"]
    assert CURRENT_HEADER in user and FEEDBACK_HEADER in user
    assert "Accuracy: 50.0% (3 of 6)" in user and "- movie: 33.3% (1 of 3)" in user
    assert '- [movie] true: positive, predicted: negative | "text 1 word' in user and "…\"" in user
    assert extract_strategy(user.split(FEEDBACK_HEADER)[0]) == parent


def test_random_shows_no_feedback():
    user = mutation_messages("random", "You classify sentiment.", RECORDS, EXAMPLES)[1]["content"]
    assert FEEDBACK_HEADER not in user and "Accuracy" not in user
