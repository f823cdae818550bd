"""The report's n: V7's plan (3 runs a group) for negotiations, whatever the config; the config's
``runs_per_group`` for another task, with the hypotheses' caveat worded for that n."""

from negoray.results.report.hypotheses import hypotheses_section
from negoray.results.report.load import Results
from negoray.results.report.sections import missing_section


def results(config, noun="negotiation"):
    return Results([], [], [], {}, {}, {}, config, noun=noun)


def caveat(r):
    text = "\n".join(hypotheses_section(r))
    return text[:text.index("### What the design itself confounds")]


def test_v7_keeps_its_plan_of_three_runs_whatever_the_config():
    for config in ({}, {"runs_per_group": 1}, {"task": "negotiation", "runs_per_group": 5}):
        r = results(config)
        assert r.negotiation and r.planned_runs == 3 and r.planned_groups == ["A", "B", "C", "D"]
        text = caveat(r)
        assert "### What n = 3 runs per group" in text and "1/20 = 0.05" in text and "×0.80 at 3 vs 3" in text
        assert "Negotiations within a run" in text and "three values per side" in text


def test_another_task_counts_the_configs_runs_and_groups():
    classify = {"name": "classify"}
    five = results({"task": classify, "runs_per_group": 5, "groups": ["B", "C"]}, "classification")
    assert (five.negotiation, five.planned_runs, five.planned_groups) == (False, 5, ["B", "C"])
    text = caveat(five)
    assert "### What n = 5 runs per group" in text and "d ≥ 1.18" in text and "252 ways to split the 10 runs" in text
    assert "1/252 = 0.004" in text and "×0.90 at 5 vs 5" in text and "five values per side" in text
    assert "Classifications within a run" in text and "3 vs 3" not in text
    one = caveat(results({"task": classify, "runs_per_group": 1}, "classification"))
    assert "### What n = 1 run per group" in one and "no test can be made" in one and "3 vs 3" not in one
    assert not any("plans" in m for m in missing_section(results({"task": classify, "runs_per_group": 1})))
