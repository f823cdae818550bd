"""The original code's interface, from a plain script and from inside a running event loop."""

import asyncio
import subprocess
import sys
import textwrap

from negoray import LLMConfig, check_provider, create_async_llm_fn, create_llm_fn
from negoray.game.moves import MoveFormat
from negoray.game.protocol import system_prompt, turn_prompt
from negoray.tasks.negotiation.seeds import SEED_STRATEGIES


def test_sync_functions_work_from_a_plain_script():
    script = textwrap.dedent("""
        from negoray import LLMConfig, check_provider, create_llm_fn
        llm = create_llm_fn(LLMConfig(provider="sim"))
        print(llm("You are a negotiator.", "Make your offer."))
        report = check_provider(LLMConfig(provider="sim"))
        print("OK" if report.ok else "FAILED", report.models)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "negoray sim" in out.stdout and "OK ['negoray-sim-1']" in out.stdout


def test_sync_function_works_inside_a_running_loop():
    llm = create_llm_fn(LLMConfig(provider="sim"), temperature=0.0)
    system = system_prompt(SEED_STRATEGIES["analytical"], 5, MoveFormat.TEXT)
    user = turn_prompt((3, 2, 1), (1, 2, 3), [], 1, 5, True, None)

    async def inside():
        return llm(system, user)  # e.g. a notebook cell

    assert "PROPOSE" in asyncio.run(inside())


def test_async_function_and_health_report():
    llm = create_async_llm_fn(LLMConfig(provider="sim"))
    assert asyncio.run(llm("x", "Say hi")).startswith("OK")
    report = check_provider(LLMConfig(provider="groq", api_key_env="NEGORAY_TEST_NO_SUCH_KEY"))
    assert not report.ok and "NEGORAY_TEST_NO_SUCH_KEY" in report.problem
