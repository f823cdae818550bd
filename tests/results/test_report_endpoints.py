"""The report's "Scores by endpoint": shown only when a role was pooled, with a provider-effect test."""

import asyncio

from negoray.evolution.backend import play_jobs
from negoray.llm.pool import EndpointPool, PoolMember
from negoray.results.report.endpoints import endpoint_section
from negoray.results.rows import call_rows
from negoray.results.writer import ResultsWriter
from negoray.tasks.negotiation import NegotiationTask

from tests.llm.test_pool import CONFIG, Member, jobs
from tests.results.synthetic import COLUMNS, WRITE, negotiation_row


def write(root, records, work):
    negotiations = [negotiation_row(r, run_id=j.run_id, group="A", seed=1, generation=0, agent_id=j.agent_id,
                                    split="dev", phase="eval", price_in=0.0, price_out=0.0) for j, r in zip(work, records)]
    calls = [row for j, r in zip(work, records)
             for row in call_rows(r, run_id=j.run_id, generation=0, agent_id=j.agent_id, phase="eval")]
    ResultsWriter(root).write_extra("negotiations", "t", negotiations, COLUMNS["negotiations"], WRITE["outcomes"])
    ResultsWriter(root).write_extra("calls", "t", calls)


def test_a_pooled_role_gets_scores_by_endpoint_and_a_test(tmp_path):
    work = jobs(32)
    pool = EndpointPool([PoolMember("gpu", Member("gpu", 0.001), 4), PoolMember("cloud", Member("cloud", 0.001), 4)])
    write(tmp_path, asyncio.run(play_jobs(work, NegotiationTask(CONFIG), pool, CONFIG.seed, 8)), work)
    text = "\n".join(endpoint_section(tmp_path))
    assert "## Scores by endpoint" in text and "| cloud |" in text and "| gpu |" in text
    assert "Provider effect: Welch's t" in text
    assert "no evidence that mixing endpoints moved the scores" in text  # both members are the same sim


def test_one_endpoint_adds_no_section(tmp_path):
    work = jobs(4)
    write(tmp_path, asyncio.run(play_jobs(work, NegotiationTask(CONFIG), Member("only"), CONFIG.seed, 4)), work)
    assert endpoint_section(tmp_path) == []
