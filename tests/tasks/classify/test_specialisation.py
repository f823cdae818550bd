import math

from hypothesis import given, strategies as st

from negoray.tasks.classify.specialisation import domain_accuracy, domain_revenue, specialisation

DOMAIN_OF = {"m1": "movie", "m2": "movie", "t1": "tweet", "t2": "tweet"}


def test_domain_accuracy_leaves_errors_out():
    rows = [{"agent_id": "a", "domain": "movie", "score": 1.0}, {"agent_id": "a", "domain": "movie", "score": 0.0},
            {"agent_id": "a", "domain": "tweet", "score": None}, {"agent_id": "b", "domain": "tweet", "score": 1.0}]
    assert domain_accuracy(rows) == {"a": {"movie": 0.5}, "b": {"tweet": 1.0}}


def test_specialists_each_lead_their_domain():
    scores = {"a": {"m1": 1, "m2": 1, "t1": 0, "t2": 0}, "b": {"m1": 0, "m2": 0, "t1": 1, "t2": math.nan}}
    revenue = domain_revenue({"m1": "a", "m2": "a", "t1": "b", "t2": "b"}, scores, DOMAIN_OF)
    assert revenue == {"movie": {"a": 2.0, "b": 0.0}, "tweet": {"a": 0.0, "b": 2.0}}  # t2's error at b's mean
    s = specialisation(revenue, ["a", "b", "c"])
    assert [(c.domain, c.top_agent, c.top_share, c.hhi) for c in s.domains] == [("movie", "a", 1.0, 1.0), ("tweet", "b", 1.0, 1.0)]
    assert (s.distinct_top_agents, s.specialisation) == (2, 1.0) and math.isclose(s.overall_hhi, 0.5)


def test_a_generalist_leads_everywhere():
    scores = {"a": dict.fromkeys(DOMAIN_OF, 1.0), "b": dict.fromkeys(DOMAIN_OF, 0.5)}
    s = specialisation(domain_revenue({"m1": "a", "m2": "b", "t1": "a", "t2": "b"}, scores, DOMAIN_OF))
    assert {c.top_agent for c in s.domains} == {"a"} and s.specialisation == 0.5


@given(st.dictionaries(st.sampled_from("wxyz"), st.dictionaries(st.sampled_from("abcde"), st.floats(0, 10), min_size=1),
                       min_size=1))
def test_measures_stay_in_range(revenue):
    s = specialisation(revenue)
    assert 1 <= s.distinct_top_agents <= min(len(revenue), s.agents)
    assert 0 < s.specialisation <= 1
    for c in s.domains:
        assert 1 / s.agents - 1e-9 <= c.hhi <= 1 + 1e-9
        assert math.isnan(c.top_share) or 1 / s.agents - 1e-9 <= c.top_share <= 1 + 1e-9
