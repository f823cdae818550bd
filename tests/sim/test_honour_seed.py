"""`sim-serve --honour-seed` answers like vLLM or llama.cpp given a seed, and ``/stats`` counts the
requests that such a server would answer with a sample it already gave (``repeated_requests``)."""

import subprocess
import sys

import pytest

from negoray.chat import ChatParams
from negoray.sim.faults import FaultConfig
from negoray.sim.model import sim_reply_text
from negoray.sim.server import serve_in_thread

from .test_sim_server import NEGOTIATION, call


def text(url, **kwargs):
    return call(url, NEGOTIATION, temperature=1.0, **kwargs).choices[0].message.content


@pytest.fixture(scope="module")
def honouring():
    with serve_in_thread(FaultConfig(honour_seed=True)) as url:
        yield url


def test_the_reply_depends_on_messages_seed_and_temperature_only(honouring):
    plain = text(honouring, seed=7)
    assert plain == sim_reply_text(NEGOTIATION, ChatParams(temperature=1.0, seed=7))
    assert text(honouring, seed=7, extra_body={"replicate": 3}) == plain
    assert text(honouring, seed=7, extra_headers={"x-negoray-replicate": "5"}) == plain
    assert len({text(honouring, seed=s) for s in range(12)}) > 1  # the seed does choose the sample


def test_repeated_requests_counts_answered_repeats_of_messages_seed_temperature_and_max_tokens(honouring):
    honouring.reset_stats()
    text(honouring, seed=1, max_tokens=50)
    text(honouring, seed=1, max_tokens=50, extra_body={"replicate": 1})  # the same sample again: a repeat
    text(honouring, seed=2, max_tokens=50)
    text(honouring, seed=1, max_tokens=51)
    call(honouring, NEGOTIATION, temperature=0.5, seed=1, max_tokens=50)
    stats = honouring.stats()
    assert (stats["requests"], stats["repeated_requests"]) == (5, 1)
    assert honouring.reset_stats()["repeated_requests"] == 0
    text(honouring, seed=1, max_tokens=50)  # forgotten by the reset
    assert honouring.stats()["repeated_requests"] == 0


def test_retries_of_failed_requests_are_not_repeats():
    with serve_in_thread(FaultConfig(error_rate=1.0)) as url:
        for _ in range(3):
            with pytest.raises(Exception):
                call(url, NEGOTIATION, seed=1)
        assert (url.stats()["requests"], url.stats()["repeated_requests"]) == (3, 0)


def test_without_the_flag_replicate_still_chooses_the_sample():
    with serve_in_thread(FaultConfig()) as url:
        replies = {text(url, seed=7, extra_body={"replicate": r}) for r in range(12)}
    assert len(replies) > 1


def test_the_flag_and_the_counter_are_in_the_help():
    out = subprocess.run([sys.executable, "-m", "negoray.cli", "sim-serve", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--honour-seed" in out and "repeated_requests" in out
