"""`sim-serve`'s Batch API flags and its vLLM-style prefix cache."""

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from negoray.commands.sim_serve import config_from_args, register
from negoray.sim.prefix_cache import BLOCK_TOKENS, PrefixCache


def test_the_flags_configure_the_batch_api_and_the_prefix_cache():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    config = config_from_args(parser.parse_args(["sim-serve", "--prefix-cache", "--batch-delay-s", "30",
                                                 "--batch-error-rate", "0.1", "--batch-expire-rate", "0.2"]))
    assert (config.prefix_cache, config.batch_delay_s, config.batch_error_rate, config.batch_expire_rate) == (True, 30, 0.1, 0.2)
    with pytest.raises(SystemExit):
        parser.parse_args(["sim-serve", "--batch-error-rate", "2"])


@given(st.text(min_size=0, max_size=400), st.text(min_size=0, max_size=400), st.text(min_size=0, max_size=400))
def test_cached_tokens_are_whole_blocks_of_the_prefix_shared_with_an_earlier_prompt(system, user_a, user_b):
    cache = PrefixCache()
    a = [{"role": "system", "content": system}, {"role": "user", "content": user_a}]
    b = [{"role": "system", "content": system}, {"role": "user", "content": user_b}]
    assert cache.lookup_and_insert(a, 10_000) == 0  # nothing seen yet
    again = cache.lookup_and_insert(a, 10_000)
    assert again % BLOCK_TOKENS == 0 and again >= (len(system) + len(user_a)) // 4 - BLOCK_TOKENS
    cached = cache.lookup_and_insert(b, 10_000)
    shared = len(f"<|system|>{system}<|user|>")
    assert cached % BLOCK_TOKENS == 0 and cached >= (shared // (4 * BLOCK_TOKENS)) * BLOCK_TOKENS
    assert cache.lookup_and_insert(b, 5) <= 5  # never more than the prompt
